"""Readers, validation and tokenization for each task."""
