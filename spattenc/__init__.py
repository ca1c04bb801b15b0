"""spattenc: a compiler for accelerator performance models."""
__version__ = "0.1.0"
