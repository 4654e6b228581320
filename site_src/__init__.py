"""Static-site publisher for multi-source news corpora."""

__version__ = "0.1.0"
