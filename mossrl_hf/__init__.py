"""mossrl_hf: Hugging Face Trainer recipes for fine-tuning encoders."""

__version__ = "0.1.0"
