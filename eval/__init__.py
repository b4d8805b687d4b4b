"""Evaluation of article-qa: pure metrics and loaders for the shared benchmark data sets."""
