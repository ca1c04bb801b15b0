"""Runtime helpers of the fixed-point simulator (fixed_sim.py): exact integer arithmetic
on object arrays, rounding shifts, and replayed draws."""

import numpy as np


# ---------------------------------------------------------------- integer helpers
def _o(x):
    """x as an object array of Python ints (exact at any width)."""
    x = np.asarray(x)
    return x if x.dtype == object else x.astype(object)


def _b(x):
    return np.asarray(x, dtype=bool)


def _div1(a, b):
    if b == 0:
        return 0
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _mod1(a, b):
    return 0 if b == 0 else a % b


def _round1(a, k):
    q, r = a >> k, a & ((1 << k) - 1)
    half = 1 << (k - 1)
    return q + (1 if r > half or (r == half and q & 1) else 0)


_div = np.frompyfunc(_div1, 2, 1)  # truncated toward zero, x / 0 = 0
_mod = np.frompyfunc(_mod1, 2, 1)  # floored (Python's %), x % 0 = 0
_round = np.frompyfunc(_round1, 2, 1)  # ties to even


def _shr_floor(a, k):
    return _o(a) >> k


def _shr_ceil(a, k):
    return -((-_o(a)) >> k)


def _shr_trunc(a, k):
    a = _o(a)
    return _where(a >= 0, a >> k, -((-a) >> k))


def _shr_nearest(a, k):
    return (_o(a) + (1 << (k - 1))) >> k


def _shr_round(a, k):
    return _round(_o(a), k)


def _where(c, a, b):
    return np.where(c, _o(a), _o(b))


def _keep(act, new, old):
    """The new value where the layer is active (act None: every point is active)."""
    return new if act is None else _where(act, new, old)


def _as2d(x, points):
    x = _o(x)
    return np.broadcast_to(x, (points, 1)) if x.ndim < 2 else x


#: Trials are drawn in blocks of this many, as in sim.py: trial t of a point uses the
#: stream of PCG64(seed) advanced by t // TRIAL_BLOCK jumps.
TRIAL_BLOCK = 65536


def generators(seed, points, block=0):
    """One numpy Generator per point, all in the state of PCG64(seed) advanced by `block`
    jumps (as sim.py's generators)."""
    base = np.random.PCG64(seed)
    if block:
        base = base.jumped(block)
    state = base.state
    out = []
    for _ in range(points):
        bits = np.random.PCG64(seed)
        bits.state = state
        out.append(np.random.Generator(bits))
    return out


class GivenDraws:
    """Replays recorded draws: `values` maps a random variable to its per-layer values."""

    def __init__(self, values):
        self.values = values
        self.used = {}

    def _next(self, name):
        i = self.used.get(name, 0)
        self.used[name] = i + 1
        seq = self.values[name]
        return _o(seq[i] if i < len(seq) else 0)

    def binomial(self, name, n, p):
        return self._next(name)

    def bernoulli(self, name, p):
        return _b(self._next(name))

    def uniform(self, name, low, high):
        return self._next(name)

    def geometric(self, name, p, high):
        return self._next(name)
