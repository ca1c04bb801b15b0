"""Runtime helpers of the table simulator (a spec over the rows of a CSV table): cell
parsing and its errors, the draws over rows, grouping and the reductions."""

import numpy as np

from .common import _Distributions, _Streams, _uniform_of


# ---------------------------------------------------------------- reading the table
class TableError(ValueError):
    """A bad table file: `line` is 1-based (0 when the file as a whole is at fault) and
    `column` names the column involved (empty when none)."""

    def __init__(self, path, line, column, message):
        super().__init__(
            f"{path}:{line}: {column}: {message}" if column else f"{path}:{line}: {message}"
        )
        self.path, self.line, self.column, self.message = path, line, column, message


_TRUE = ("true", "1")
_FALSE = ("false", "0")


def _is_note(fields):
    """A line naming the run's config: one leading field that is not a number, every
    other field empty."""
    if not fields or fields[0].strip() == "" or any(f.strip() != "" for f in fields[1:]):
        return False
    try:
        float(fields[0])
    except ValueError:
        return True
    return False


#: A column bound (op, lo, hi) -> its words in messages.
_BOUND_WORDS = {
    ">=": "at least", ">": "greater than", "<=": "at most", "<": "less than", "!=": "different from"
}
_BOUND_OK = {">=": lambda v, lo: v >= lo, ">": lambda v, lo: v > lo, "<=": lambda v, lo: v <= lo,
             "<": lambda v, lo: v < lo, "!=": lambda v, lo: v != lo}


def _check_bound(v, bound):
    """Raise ValueError when v breaks the column's declared bound (None: no bound)."""
    if bound is None:
        return v
    op, lo, hi = bound
    if op == "in":
        if not lo <= v <= hi:
            raise ValueError(f"must be in [{lo}, {hi}], got {v!r}")
    elif not _BOUND_OK[op](v, lo):
        raise ValueError(f"must be {_BOUND_WORDS[op]} {lo}, got {v!r}")
    return v


def _shown(text):
    """A cell as quoted in a message, shortened when long."""
    return repr(text) if len(text) <= 40 else repr(text[:20]) + f"...({len(text)} characters)"


def _value(text, kind, bound=None):
    """A cell's value as its column's type says, within the column's bound."""
    t = text.strip()
    if t == "":
        raise ValueError("missing value")
    if kind == "bool":
        if t.lower() in _TRUE:
            return True
        if t.lower() in _FALSE:
            return False
        raise ValueError(f"expected True or False, got {_shown(text)}")
    try:
        v = float(t)
    except ValueError:
        wanted = "an integer" if kind == "int" else "a number"
        raise ValueError(f"expected {wanted}, got {_shown(text)}") from None
    if not np.isfinite(v):
        raise ValueError(f"expected a finite number, got {_shown(text)}")
    if kind == "int":
        if not v.is_integer():
            raise ValueError(f"expected an integer, got {_shown(text)}")
        if not -2**63 <= v < 2**63:  # the table's arrays are 64-bit integers
            raise ValueError(f"expected a 64-bit integer, got {_shown(text)}")
        try:
            v = int(t)
        except ValueError:
            v = int(v)
        if not -2**63 <= v < 2**63:
            raise ValueError(f"expected a 64-bit integer, got {_shown(text)}")
    return _check_bound(v, bound)


class Draws(_Distributions):
    """Random draws shaped (rows, points, trials): point i's numbers come from rngs[i] (a
    numpy Generator or a legacy RandomState), so a point's numbers never depend on which
    other points share the array.  `over(rows)` gives the draws of a table of that size."""

    def __init__(self, rngs, trials, rows=1):
        self.rngs = rngs if isinstance(rngs, _Streams) else list(rngs)
        self.trials = trials
        self.shape = (rows, len(self.rngs), trials)

    def over(self, rows):
        return Draws(self.rngs, self.trials, rows)

    def _draw(self, method, *args):
        rows, points, trials = self.shape
        out = None
        for i, rng in enumerate(self.rngs):
            part = getattr(rng, method)(
                *(np.broadcast_to(a, self.shape)[:, i, :] for a in args), size=(rows, trials)
            )
            if out is None:
                out = np.empty(self.shape, dtype=part.dtype)
            out[:, i, :] = part
        return out

    def _uniform01(self):
        rows, points, trials = self.shape
        return np.stack([_uniform_of(r)((rows, trials)) for r in self.rngs], axis=1)


# ---------------------------------------------------------------- grouping and reductions
class Grouping:
    """A partition of n members (axis 0) by equal key values.  Groups are ordered by
    their keys; within a group, members keep their order.  `keys` holds each key's
    value per group; `first`/`last` are each group's first and last member."""

    def __init__(self, keys):
        keys = [np.asarray(k).reshape(-1) for k in keys]
        self.order = np.lexsort(keys[::-1]) if keys else np.arange(0)
        ordered = [k[self.order] for k in keys]
        change = np.zeros(len(self.order), dtype=bool)
        change[:1] = True
        for k in ordered:
            change[1:] |= k[1:] != k[:-1]
        self.starts = np.flatnonzero(change)
        self.size = len(self.starts)
        self.count = np.diff(np.append(self.starts, len(self.order)))
        self.first = self.order[self.starts]
        self.last = self.order[self.starts + self.count - 1]
        self.keys = [k[self.starts].reshape(-1, 1, 1) for k in ordered]


def _members(x, n):
    x = np.asarray(x)
    return np.broadcast_to(x, np.broadcast_shapes(x.shape, (n, 1, 1)))


def _greduce(kind, x, g):
    """Reduce members (axis 0) within each group of `g`: one result per group."""
    x = _members(x, len(g.order))
    if kind == "first":
        return x[g.first]
    if kind == "last":
        return x[g.last]
    xs = x[g.order]
    if kind in ("sum", "count", "mean"):
        total = np.add.reduceat(
            xs.astype(np.int64) if xs.dtype == np.bool_ else xs, g.starts, axis=0
        )
        return total / g.count.reshape(-1, 1, 1) if kind == "mean" else total
    if kind == "max_over":
        return np.maximum.reduceat(xs, g.starts, axis=0)
    return np.minimum.reduceat(xs, g.starts, axis=0)


def _reduce_all(kind, x, n):
    """Reduce all n members (axis 0): shape (points, trials)."""
    x = _members(x, n)
    if kind == "first":
        return x[0]
    if kind == "last":
        return x[-1]
    if kind in ("sum", "count"):
        return x.astype(np.int64).sum(axis=0) if x.dtype == np.bool_ else x.sum(axis=0)
    if kind == "mean":
        return x.mean(axis=0)
    if kind == "max_over":
        return x.max(axis=0)
    return x.min(axis=0)
