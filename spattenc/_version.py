"""The package version (read by the generated files' headers, the cache key and result metadata)."""

__version__ = "0.1.0"
