"""Runtime helpers of sim.py: sums over the members of an enum and over an integer range."""

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
