"""Runtime helpers of sim.py: float to integer conversions, as Python's int() and round()
do them."""

import numpy as np


# ---------------------------------------------------------------- numeric helpers
# Integer conversions follow Python: trunc is int(), round is half-to-even.
def _trunc(x):
    return np.trunc(x).astype(np.int64)


def _floor(x):
    return np.floor(x).astype(np.int64)


def _ceil(x):
    return np.ceil(x).astype(np.int64)


def _round(x):
    return np.rint(x).astype(np.int64)
