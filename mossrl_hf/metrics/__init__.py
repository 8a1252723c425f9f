"""Metrics per task, computed with seqeval and scikit-learn directly (nothing fetched from the Hub)."""
