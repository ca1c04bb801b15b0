"""Runtime helpers of the per-layer simulator (sim.py): masked updates, tables over a
binomial draw's support, measured values, and the per-layer draws."""

import numpy as np

from .common import _Distributions, _Streams, _uniform_of


# ---------------------------------------------------------------- draws per layer
def _keep(act, new, old):
    """The new value where the layer is active (act None: every point is active)."""
    return new if act is None else np.where(act, new, old)


def _support(n, draws, trials):
    """The values a binomial draw can take, as a row (0..max n), and the draws as the
    index into it; or (draws, None) when tabulating would not pay (few trials)."""
    n = np.asarray(n)
    if n.ndim == 2 and n.shape[1] == 1 and n.size and (int(n.max()) + 1) * 8 <= trials:
        return np.arange(int(n.max()) + 1)[None, :], draws
    return draws, None


def _gather(table, index):
    """Each trial's entry of a per-value table (table rows are points)."""
    if index is None:
        return table
    table = np.asarray(table)
    if table.ndim < 2 or table.shape[1] == 1:
        return table  # does not depend on the draw
    points, k = index.shape[0], table.shape[1]
    if table.shape[0] == 1:
        return table[0].take(index)
    table = np.ascontiguousarray(np.broadcast_to(table, (points, k)))
    return table.reshape(-1).take(index + (np.arange(points) * k)[:, None])


def _given(observed, key, value):
    """The model's `value`, or the measured value supplied for `key` (one per point)."""
    if observed is None or key not in observed:
        return value
    return np.asarray(observed[key], dtype=np.float64).reshape(-1, 1)


def _per_row(x, points):
    """A draw argument as rows: (values, True) with one scalar per point when it is
    constant over trials, else (array of shape (points, trials), False)."""
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[-1] == 1:
        return np.broadcast_to(x.reshape(-1, 1) if x.ndim else x, (points, 1))[:, 0], True
    return np.broadcast_to(x, (points, x.shape[-1])), False


class Draws(_Distributions):
    """Random draws of one layer, shaped (points, trials).  Row i comes from rngs[i] (a
    numpy Generator or a legacy RandomState), so a point's numbers never depend on which
    other points share the array."""

    def __init__(self, rngs, trials):
        if isinstance(trials, tuple):  # Draws(rng, (points, trials)): one stream, row after row
            points, trials = trials
            rngs = [rngs] * points
        self.rngs = rngs if isinstance(rngs, _Streams) else list(rngs)
        self.trials = trials
        self.shape = (len(self.rngs), trials)

    def _draw(self, method, *args):
        points, size = self.shape
        cols = [_per_row(a, points) for a in args]
        out = None
        for i, rng in enumerate(self.rngs):
            row = getattr(rng, method)(*(a[i] for a, _ in cols), size=size)
            if out is None:
                out = np.empty(self.shape, dtype=row.dtype)
            out[i] = row
        return out

    def _uniform01(self):
        return np.stack([_uniform_of(r)(self.trials) for r in self.rngs])
