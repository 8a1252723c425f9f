"""Task glue shared by recipes and the prediction API: features per split, evaluation, outputs."""
