"""Runtime helpers both simulators (layers and tables) share: trial statistics, the
distributions with their argument checks, and the per-point random streams."""

import numpy as np


class TrialStats:
    """Mean and population std over trials of a metric, per point (shape (points, 1)): what
    a comparison's trial reductions read when the trials were run in several blocks."""

    def __init__(self, mean, std):
        self.mean = mean
        self.std = std


def _trial_mean(x, per_trial=False):
    if isinstance(x, TrialStats):
        return x.mean
    x = np.asarray(x)
    return x if per_trial or x.shape[-1] == 1 else x.mean(axis=-1, keepdims=True)


def _trial_std(x, per_trial=False):
    if isinstance(x, TrialStats):
        return x.std
    x = np.asarray(x)
    return (
        np.zeros_like(x, dtype=np.float64)
        if per_trial or x.shape[-1] == 1
        else x.std(axis=-1, keepdims=True)
    )


def _uniform_of(rng):
    """The method of `rng` (a Generator or a legacy RandomState) drawing uniforms in [0, 1)."""
    return getattr(rng, "random_sample", None) or rng.random


class DrawError(ValueError):
    """A draw's arguments lie outside its distribution's domain; `var` names the spec's
    random variable (so the caller can point at its declaration)."""

    def __init__(self, var, message):
        super().__init__(f"random {var}: {message}")
        self.var = var
        self.message = message


def _require(ok, var, what, value):
    """Raise DrawError unless `ok` holds everywhere; the message shows a failing value."""
    ok = np.asarray(ok)
    if not ok.all():
        bad = np.broadcast_to(np.asarray(value, dtype=np.float64), ok.shape)[~ok].reshape(-1)[0]
        raise DrawError(var, f"{what} (got {bad:g})")


class _Distributions:
    """The distributions a spec draws from.  A subclass says where the numbers come from:
    `_draw(method, *args)` calls a numpy random method with element-wise arguments, and
    `_uniform01()` draws uniforms in [0, 1), both over the subclass's shape.  Arguments
    are checked first: a bad one raises DrawError naming the variable `name`."""

    def binomial(self, n, p, name="?"):
        _require(np.asarray(n) >= 0, name, "binomial n must be >= 0", n)
        _require(
            (np.asarray(p) >= 0) & (np.asarray(p) <= 1), name, "binomial p must be in [0, 1]", p
        )
        return self._draw("binomial", n, p)

    def bernoulli(self, p, name="?"):
        _require(
            (np.asarray(p) >= 0) & (np.asarray(p) <= 1), name, "bernoulli p must be in [0, 1]", p
        )
        return self._uniform01() < np.asarray(p)

    def uniform(self, low, high, name="?"):
        _require(np.isfinite(low) & np.isfinite(high), name, "uniform low and high must be finite",
                 np.where(np.isfinite(low), high, low))
        return self._draw("uniform", low, high)

    def normal(self, mean, std, name="?"):
        _require(np.asarray(std) >= 0, name, "normal std must be >= 0", std)
        return self._draw("normal", mean, std)

    def integers(self, low, high, name="?"):
        """Uniform integers in [low, high], both included (low and high rounded down)."""
        low, high = np.floor(low), np.floor(high)
        _require(low <= high, name, "integers needs low <= high (after rounding down)", high)
        u = self._uniform01()
        return (low + np.floor(u * (high - low + 1))).astype(np.int64)

    def geometric(self, p, *high, name="?"):
        """Failures before the first success (0, 1, 2, ...): numpy's geometric (the number
        of the first successful trial) minus 1; with a declared max `high`, a draw above
        it is `high`."""
        _require(
            (np.asarray(p) > 0) & (np.asarray(p) <= 1), name, "geometric p must be in (0, 1]", p
        )
        k = self._draw("geometric", p) - 1
        return np.minimum(k, np.asarray(high[0], dtype=np.int64)) if high else k

    def categorical(self, *weights, name="?"):
        """Index i in 0..k-1 with probability weights[i] / sum(weights): one uniform per
        draw, compared with the running sums of the weights (inverse CDF)."""
        w = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in weights))
        total = sum(w[1:], w[0])
        for x in w:
            _require(x >= 0, name, "categorical weights must be >= 0", x)
        _require(total > 0, name, "categorical weights must not all be 0", total)
        u = self._uniform01() * total
        index = np.zeros(np.broadcast_shapes(u.shape, total.shape), dtype=np.int64)
        run = np.zeros_like(total)
        for x in w[:-1]:
            run = run + x
            index += u >= run
        return index


#: Trials are drawn in blocks of this many: trial t of a point uses the stream of
#: PCG64(seed) advanced by t // TRIAL_BLOCK jumps, so results never depend on how the
#: work is split into chunks.
TRIAL_BLOCK = 65536


def generators(seed, points, block=0):
    """One numpy Generator per point, all in the same state: PCG64(seed), advanced by
    `block` jumps (2**127 steps each) for the trials of block `block`."""
    return _Streams(seed, points, block)


class _Streams:
    """The per-point Generators of `generators`, each made when a draw first asks for it,
    so a run that draws nothing (a deterministic model) creates none."""

    def __init__(self, seed, points, block=0):
        base = np.random.PCG64(seed)
        self._state = (base.jumped(block) if block else base).state
        self._seed = seed
        self._made = [None] * points

    def __len__(self):
        return len(self._made)

    def __getitem__(self, i):
        rng = self._made[i]
        if rng is None:
            bits = np.random.PCG64(self._seed)
            bits.state = self._state
            rng = self._made[i] = np.random.Generator(bits)
        return rng

    def __iter__(self):
        return (self[i] for i in range(len(self._made)))


def _points(params, observed=None):
    """Points of a run: the rows of the (points, 1) param arrays and of measured values
    (input tables are not points: they have their own axes)."""
    return max([np.shape(v)[0] for v in params.values() if np.ndim(v) == 2]
               + [np.shape(v)[0] for v in (observed or {}).values()] + [1])
