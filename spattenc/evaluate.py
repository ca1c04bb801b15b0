"""Constant folding of literal expressions (param defaults, ranges, trials, seed)."""

from .visit import const_value

__all__ = ["const_value"]
