"""Calibration: fit selected params of a spec to measured tables by least squares on the
log of the measured values (Levenberg-Marquardt, numpy only).

Residuals are log(model) - log(measured) of every observed column at every row, so each
row weighs by its relative error whatever its magnitude.  Params whose declared range is
positive are fitted in log space (a relative step means the same at any scale); all are
kept inside their declared ranges.  The Jacobian is taken by forward differences, every
perturbed parameter set evaluated in the same vectorized simulator call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from spattenc.driver import Compiled
from spattenc.ir.errors import SpecError, did_you_mean
from spattenc.run.measured import Rows, model_values


@dataclass(frozen=True)
class FitResult:
    """Fitted params and the error before and after, on the fitted and held-out rows.

    `stderr_rel[p]` is the approximate 1-sigma relative standard error of a param (from
    the Jacobian at the optimum), None where the rows do not constrain it.
    """

    params: tuple[str, ...]
    before: dict[str, float]
    after: dict[str, float]
    stderr_rel: dict[str, float | None]
    iterations: int
    converged: bool
    fit_error: dict[str, tuple[float, float]]  # measure -> (before, after) on the fitted rows
    held_error: dict[str, tuple[float, float]]  # same on the held-out rows (empty without any)
    n_fit: int
    n_held: int
    at_bound: dict[str, str | None] = field(default_factory=dict)  # "lower"/"upper" when pinned
    max_iterations: int = 0


def _residuals(sim, rows: list[Rows], overrides: dict, values: np.ndarray, names: list[str], trials: int,
               seed: int) -> np.ndarray:
    """log(model/measured) at every row for each of the param sets in `values` (sets, k):
    shape (sets, residuals), all sets in one simulator call per table."""
    sets = values.shape[0]
    out = []
    for r in rows:
        n = len(r.table.rows)
        params = dict(overrides)
        for j, name in enumerate(names):
            params[name] = np.repeat(values[:, j], n)
        m = model_values(sim, r, params, trials, seed, repeat=sets)
        for o in r.block.observe:
            model = m[o.name].reshape(sets, n)
            with np.errstate(all="ignore"):
                out.append(np.log(model) - np.log(r.observed[o.name])[None, :])
    return np.concatenate(out, axis=1)


def errors(sim, rows: list[Rows], overrides: dict, names: list[str], values: np.ndarray, trials: int,
           seed: int) -> dict[str, float]:
    """MAPE (%) and RMS log error of the model on `rows` at one param set."""
    if not rows:
        return {}
    r = _residuals(sim, rows, overrides, values[None, :], names, trials, seed)[0]
    return {"mape_pct": float(np.mean(np.abs(np.expm1(r))) * 100.0), "rms_log": float(np.sqrt(np.mean(r * r)))}


@dataclass(frozen=True)
class _Space:
    """The fitted params in fitting coordinates: log for a positive declared range (a
    relative step means the same at any scale), kept inside the declared bounds."""

    names: list[str]
    logs: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    start: np.ndarray

    def values(self, u: np.ndarray) -> np.ndarray:
        """Param values of fitting coordinates `u`."""
        return np.where(self.logs, np.exp(u), u)

    def first(self) -> np.ndarray:
        """The starting values in fitting coordinates, clipped into the bounds."""
        u = np.where(self.logs, np.log(np.maximum(self.start, 1e-300)), self.start)
        return np.clip(u, self.lo, self.hi)


def _space(prog, rows: list[Rows], names: list[str], overrides: dict) -> _Space:
    """The fitted params checked (real params of the spec, not config columns, listed once),
    with their starting values and bounds."""
    lo, hi, logs, start = [], [], [], []
    known = {p.name for p in prog.params}
    for name in names:
        if name not in known:
            raise SpecError(f"--params: '{name}' is not a param of spec '{prog.name}'" + did_you_mean(name, known))
        p = prog.param(name)
        if p.type != "real":
            raise SpecError(f"--params: '{name}' is {p.type}; a fit adjusts real params (try values of an "
                            f"{p.type} param with --set)", p.loc, source=prog.source)
        if any(c.name == name for r in rows for c in r.block.config):
            raise SpecError(f"--params: '{name}' is a config column of the measured table; it is set per row")
        v = float(overrides[name]) if name in overrides else float(p.value)
        a = float(p.lo_value) if p.lo_value is not None else -math.inf
        b = float(p.hi_value) if p.hi_value is not None else math.inf
        use_log = a > 0
        lo.append(math.log(a) if use_log else a)
        hi.append(math.log(b) if use_log and math.isfinite(b) else b)
        logs.append(use_log)
        start.append(v)
    if len(set(names)) != len(names):
        raise SpecError("--params: a param is listed twice")
    return _Space(list(names), np.array(logs), np.array(lo), np.array(hi), np.array(start))


def _cost_of(res: np.ndarray) -> np.ndarray:
    """Half the sum of squared residuals, a non-finite residual counting as 1e6."""
    res = np.where(np.isfinite(res), res, 1e6)
    return 0.5 * np.sum(res * res, axis=-1)


@dataclass(frozen=True)
class _Optimum:
    """Where the Levenberg-Marquardt loop stopped."""

    u: np.ndarray
    res: np.ndarray
    cost: float
    jac: np.ndarray
    iterations: int
    converged: bool


def _minimize(space: _Space, residuals, max_iterations: int) -> _Optimum:
    """Levenberg-Marquardt on `residuals(sets)` (param sets -> residual rows) from the start."""
    u = space.first()
    k = len(space.names)
    res = residuals(space.values(u)[None, :])[0]
    cost = _cost_of(res)
    lam = 1e-3
    converged = False
    it = 0
    jac = np.zeros((res.size, k))
    for it in range(1, max_iterations + 1):
        # Forward differences, stepping inward at a bound; all k+1 sets in one call.
        h = 1e-6 * np.maximum(np.abs(u), 1.0)
        h = np.where(u + h > space.hi, -h, h)
        sets = np.repeat(u[None, :], k + 1, axis=0)
        sets[1:] += np.diag(h)
        r_all = residuals(space.values(sets))
        res = r_all[0]
        jac = (r_all[1:] - res[None, :]).T / h[None, :]
        jac = np.where(np.isfinite(jac), jac, 0.0)
        a_mat = jac.T @ jac
        g = jac.T @ np.where(np.isfinite(res), res, 1e6)
        improved = False
        for _ in range(30):
            damp = np.diag(np.diag(a_mat)) * lam + np.eye(k) * lam * 1e-12 * max(1.0, np.trace(a_mat))
            try:
                step = -np.linalg.solve(a_mat + damp + np.eye(k) * 1e-300, g)
            except np.linalg.LinAlgError:
                step = -np.linalg.lstsq(a_mat + damp, g, rcond=None)[0]
            u_new = np.clip(u + step, space.lo, space.hi)
            res_new = residuals(space.values(u_new)[None, :])[0]
            cost_new = _cost_of(res_new)
            if cost_new < cost:
                improved = True
                small = (cost - cost_new <= 1e-12 * max(cost, 1e-300)
                         or np.all(np.abs(u_new - u) <= 1e-10 * np.maximum(np.abs(u), 1.0)))
                u, res, cost = u_new, res_new, cost_new
                lam = max(lam / 3.0, 1e-12)
                break
            lam *= 4.0
        if not improved or small:
            converged = True
            break
    return _Optimum(u, res, cost, jac, it, converged)


def _stderr(space: _Space, opt: _Optimum, after: np.ndarray) -> dict[str, float | None]:
    """Approximate relative standard errors from the Jacobian at the optimum (in fitting
    coordinates); None for a param no row depends on."""
    k = len(space.names)
    dof = max(opt.res.size - k, 1)
    s2 = 2.0 * opt.cost / dof
    stderr: dict[str, float | None] = {}
    col_norm = np.linalg.norm(opt.jac, axis=0)
    try:
        cov = s2 * np.linalg.pinv(opt.jac.T @ opt.jac)
    except np.linalg.LinAlgError:  # pragma: no cover - pinv rarely fails
        cov = np.full((k, k), np.nan)
    for j, name in enumerate(space.names):
        if col_norm[j] <= 1e-12 * max(1.0, float(col_norm.max())):
            stderr[name] = None
            continue
        sd = math.sqrt(max(cov[j, j], 0.0))
        stderr[name] = sd if space.logs[j] else (sd / abs(after[j]) if after[j] else None)
    return stderr


def fit(compiled: Compiled, sim, rows: list[Rows], held: list[Rows], names: list[str], overrides: dict,
        max_iterations: int = 200) -> FitResult:
    """Levenberg-Marquardt on log residuals, starting from the params' current values."""
    prog = compiled.program
    trials, seed = 1 if not prog.random else prog.trials, prog.seed
    space = _space(prog, rows, names, overrides)
    base = {k: v for k, v in overrides.items() if k not in names}
    opt = _minimize(space, lambda sets: _residuals(sim, rows, base, sets, names, trials, seed), max_iterations)
    after = space.values(opt.u)
    start_v = space.start
    before_err = errors(sim, rows, base, names, start_v, trials, seed)
    after_err = errors(sim, rows, base, names, after, trials, seed)
    held_before = errors(sim, held, base, names, start_v, trials, seed)
    held_after = errors(sim, held, base, names, after, trials, seed)
    u, lo_a, hi_a = opt.u, space.lo, space.hi
    return FitResult(
        params=tuple(names), before=dict(zip(names, start_v.tolist())), after=dict(zip(names, after.tolist())),
        stderr_rel=_stderr(space, opt, after), iterations=opt.iterations, converged=opt.converged,
        max_iterations=max_iterations,
        at_bound={name: ("lower" if u[j] <= lo_a[j] else "upper" if u[j] >= hi_a[j] else None)
                  for j, name in enumerate(names)},
        fit_error={m: (before_err[m], after_err[m]) for m in before_err},
        held_error={m: (held_before[m], held_after[m]) for m in held_before},
        n_fit=sum(len(r.table.rows) for r in rows), n_held=sum(len(r.table.rows) for r in held),
    )


def _sigma_note(result: FitResult, p: str) -> str:
    """A fitted param's 1-sigma column: its relative error, or why there is none (pinned at
    a bound of its declared range, or no row depends on it)."""
    side = result.at_bound.get(p)
    if side is not None:
        return f"at its {side} bound: the rows push it past its declared range"
    se = result.stderr_rel[p]
    return "not constrained by these rows" if se is None else f"± {100 * se:.2g}%"


def report_text(result: FitResult, what: str) -> str:
    """The fitted values, and the error before and after."""
    lines = [what, f"method: Levenberg-Marquardt on log residuals, {result.iterations} iterations, "
             + ("converged" if result.converged else
                f"stopped at the iteration limit ({result.max_iterations}) without converging: the fitted "
                "values are not a minimum (raise --max-iterations)")]
    w = max(len(p) for p in result.params + ("param",))
    lines.append(f"  {'param':<{w}}  {'start':>12}  {'fitted':>12}  1-sigma")
    for p in result.params:
        lines.append(f"  {p:<{w}}  {result.before[p]:>12.6g}  {result.after[p]:>12.6g}  {_sigma_note(result, p)}")
    lines.append(f"  {'error':<{w + 24}}  {'before':>10}  {'after':>10}")
    for label, errs, n in (("fitted rows", result.fit_error, result.n_fit), ("held-out rows", result.held_error, result.n_held)):
        if not errs:
            continue
        b, a = errs["mape_pct"]
        lines.append(f"  {'MAPE, ' + label + f' ({n})':<{w + 24}}  {b:>9.2f}%  {a:>9.2f}%")
        b, a = errs["rms_log"]
        lines.append(f"  {'RMS log error, ' + label:<{w + 24}}  {b:>10.4f}  {a:>10.4f}")
    lines.append("  " + " ".join(f"--set {p}={result.after[p]:.6g}" for p in result.params))
    return "\n".join(lines) + "\n"
