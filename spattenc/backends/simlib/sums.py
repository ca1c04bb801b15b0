"""Runtime helpers of sim.py: sums, maxima and minima (and where they are reached) over the
members of an enum and over an integer range."""

import numpy as np


def _sum_members(body, count):
    """body(0) + body(1) + ... over the members of an enum, in declaration order."""
    total = body(0)
    for i in range(1, count):
        total = total + body(i)
    return total


def _sum_range(body, lo, hi):
    """The sum of body(i) for lo <= i < hi, in order; bounds may differ across points."""
    lo, hi = np.asarray(lo), np.asarray(hi)
    total = 0
    if lo.size == 0 or hi.size == 0:
        return total
    uniform = lo.size == 1 and hi.size == 1
    for i in range(int(np.min(lo)), int(np.max(hi))):
        term = body(i)
        total = total + (term if uniform else np.where((lo <= i) & (i < hi), term, 0))
    return total


def _fold_members(kind, body, count):
    """max, min, argmax or argmin of body(i) over the members 0..count-1 of an enum: a
    later member replaces the best only when strictly better (ties keep the first)."""
    best = body(0)
    arg = 0
    for i in range(1, count):
        term = body(i)
        take = term > best if kind in ("max", "argmax") else term < best
        best = np.where(take, term, best)
        arg = np.where(take, i, arg)
    return arg if kind.startswith("arg") else best


class EmptyRange(ValueError):
    """A max, min, argmax or argmin over a range that is empty at these params: it has no value."""


def _fold_range(kind, body, lo, hi):
    """max, min, argmax or argmin of body(i) over lo <= i < hi, in order (ties keep the
    smallest i); bounds may differ across points, and an empty range is an error."""
    lo, hi = np.asarray(lo), np.asarray(hi)
    if lo.size == 0 or hi.size == 0:
        return np.zeros(np.broadcast(lo, hi).shape)
    shape = np.broadcast(lo, hi).shape
    empty = np.broadcast_to(hi <= lo, shape)
    if empty.any():
        at = np.flatnonzero(empty)[0]
        a, b = np.broadcast_to(lo, shape).flat[at], np.broadcast_to(hi, shape).flat[at]
        raise EmptyRange(f"{kind}() over an empty range({a}, {b}) has no value")
    best = arg = seen = None
    for i in range(int(np.min(lo)), int(np.max(hi))):
        term = body(i)
        inside = (lo <= i) & (i < hi)
        if best is None:
            best, arg, seen = term, np.where(inside, i, i), inside
            continue
        better = term > best if kind in ("max", "argmax") else term < best
        take = inside & (~seen | better)
        best = np.where(take, term, best)
        arg = np.where(take, i, arg)
        seen = seen | inside
    return arg if kind.startswith("arg") else best
