"""Runtime helper of sim.py: entries of an input table (an array) at integer indices."""

import numpy as np


def _lookup(table, *index):
    """table[index, ...] for integer indices or integer arrays (broadcast together)."""
    flat = 0
    for axis, i in enumerate(index):
        i = np.asarray(i)
        n = table.shape[axis]
        if np.any((i < 0) | (i >= n)):
            raise IndexError(
                f"index {np.min(i) if np.any(i < 0) else np.max(i)} is outside a table axis "
                f"of {n} entries"
            )
        flat = flat * n + i
    return table.reshape(-1)[flat]
