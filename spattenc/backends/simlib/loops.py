"""Runtime helpers of a spec's loops: elementwise runs that drop finished elements."""

import numpy as np

from .common import _Distributions, _uniform_of


# ---------------------------------------------------------------- loops
# A loop runs independently for every element of its arguments' broadcast shape: each
# step, the elements whose 'while' condition fails are dropped (compacted away), the
# rest draw, evaluate and accumulate, then update their states.  A loop still running
# after _LOOP_STEP_LIMIT steps is taken not to end.
_LOOP_STEP_LIMIT = 100_000


def _flat(x, shape):
    return np.array(np.broadcast_to(x, shape)).reshape(-1)


def _fill(x, size):
    return np.array(np.broadcast_to(x, (size,)))


def _narrow(c, live):
    """The constants of the elements still running (attribute names kept)."""
    out = object.__new__(type(c))
    vars(out).update({k: v[live] for k, v in vars(c).items()})
    return out


class _LoopDraws(_Distributions):
    """Draws for the running elements of a loop: `at` holds their flat indices into
    `shape`, whose last two axes are points and trials; each element draws from its
    point's stream (`rngs`, one per point), in element order."""

    def __init__(self, rngs, at, shape):
        self.rngs = rngs
        self.size = at.size
        if len(rngs) == 1:
            self.parts = [(rngs[0], slice(None), at.size)]
        else:
            point = (at // shape[-1]) % shape[-2]
            self.parts = [
                (rngs[p], idx, idx.size)
                for p in np.unique(point)
                for idx in [np.flatnonzero(point == p)]
            ]

    def _draw(self, method, *args):
        args = [np.broadcast_to(a, (self.size,)) for a in args]
        out = None
        for rng, idx, n in self.parts:
            part = getattr(rng, method)(*(a[idx] for a in args), size=n)
            if out is None:
                out = np.empty(self.size, dtype=part.dtype)
            out[idx] = part
        return out

    def _uniform01(self):
        out = np.empty(self.size)
        for rng, idx, n in self.parts:
            out[idx] = _uniform_of(rng)(n)
        return out
