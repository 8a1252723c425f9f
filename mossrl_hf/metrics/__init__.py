"""Metrics per task as `evaluate` modules (ner_seqeval, classification_scores, pairwise_preference; seqeval
and scikit-learn underneath, nothing fetched from the Hub), the module a run uses (modules), and bootstrap
confidence intervals from per-example counts (bootstrap)."""
