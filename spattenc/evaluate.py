"""Constant folding of literal expressions (param defaults, ranges, trials, seed)."""

from __future__ import annotations

from . import ir
from .errors import fail


def const_value(e: ir.Expr) -> float | int | bool:
    """Value of an expression made only of literals and arithmetic, as Python computes it."""
    match e:
        case ir.Num(value=v) | ir.Bool(value=v):
            return v
        case ir.Unary(op="-", operand=x):
            return -const_value(x)
        case ir.Unary(op="not", operand=x):
            return not const_value(x)
        case ir.Binary(op=op, left=a, right=b):
            x, y = const_value(a), const_value(b)
            try:
                return _BINARY[op](x, y)
            except ZeroDivisionError:
                fail("division by zero", e.loc)
        case ir.Cond(test=t, then=a, else_=b):
            return const_value(a) if const_value(t) else const_value(b)
    fail("a literal number is required here", e.loc)


_BINARY = {
    "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
    "/": lambda x, y: x / y, "%": lambda x, y: x % y, "^": lambda x, y: x ** y,
    "<": lambda x, y: x < y, "<=": lambda x, y: x <= y, ">": lambda x, y: x > y,
    ">=": lambda x, y: x >= y, "==": lambda x, y: x == y, "!=": lambda x, y: x != y,
    "and": lambda x, y: x and y, "or": lambda x, y: x or y,
}
