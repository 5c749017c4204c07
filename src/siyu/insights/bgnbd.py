"""BG/NBD purchase-count model (Fader, Hardie & Lee 2005), vectorised, with the fitting helpers the models share.

Inputs are per-customer arrays in one time unit (Siyu: days; the CDNOW tests: weeks): x repeat purchases,
t_x the time of the last purchase after the first, T the time from the first purchase to the end of the
observation. Fits maximise the log-likelihood over log-parameters with analytic gradients (L-BFGS-B) on
the distinct (x, t_x, T) rows, each weighted by how many customers share it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1

from siyu.errors import Invalid
from siyu.insights.contract import BgNbdParams

Array = NDArray[np.float64]
# ln of each parameter is kept within these bounds so exp() never overflows while searching.
LOG_BOUND = 30.0


@dataclass(frozen=True, slots=True)
class BgNbdFit:
    """A fitted BG/NBD model and how the fit went (non-convergence is reported, not raised)."""

    params: BgNbdParams
    loglik: float  # total log-likelihood of the customers, in the time unit of the fit
    n: int  # customers (sum of weights)
    unique_rows: int  # distinct (x, t_x, T) rows the optimiser evaluated
    converged: bool
    iterations: int
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Parameters and fit facts as one flat JSON-ready dict (stored on insight_runs.models)."""
        return {**asdict(self.params), **{k: v for k, v in asdict(self).items() if k != "params"}}


def as_array(name: str, values: ArrayLike, *, where: str) -> Array:
    """values as a 1-D float64 array, refusing NaN/inf and negatives (Invalid names the array and index)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise Invalid(f"{where}: {name} must be one-dimensional, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        i = int(bad[0])
        raise Invalid(
            f"{where}: {name}[{i}] = {float(arr[i])!r} is not a finite non-negative number",
            details={"array": name, "index": i, "count": int(bad.size)},
        )
    return arr


def check_history(x: ArrayLike, t_x: ArrayLike, T: ArrayLike, *, where: str) -> tuple[Array, Array, Array]:
    """Validated (x, t_x, T): equal lengths, finite, non-negative, t_x ≤ T."""
    xa, ta, Ta = (
        as_array("x", x, where=where),
        as_array("t_x", t_x, where=where),
        as_array("T", T, where=where),
    )
    if not xa.size == ta.size == Ta.size:
        raise Invalid(f"{where}: x, t_x and T differ in length ({xa.size}, {ta.size}, {Ta.size})")
    bad = np.flatnonzero(ta > Ta)
    if bad.size:
        i = int(bad[0])
        raise Invalid(
            f"{where}: t_x[{i}] = {float(ta[i])!r} is after T[{i}] = {float(Ta[i])!r}",
            details={"array": "t_x", "index": i, "count": int(bad.size)},
        )
    return xa, ta, Ta


def collapse(*cols: ArrayLike) -> tuple[tuple[Array, ...], Array, NDArray[np.int64]]:
    """Distinct rows of the stacked columns (sorted), their multiplicities and each input row's distinct-row index.

    Same result as np.unique(np.column_stack(cols), axis=0, return_inverse=True, return_counts=True),
    which goes through a structured view and is several times slower: whole-number columns (days,
    counts) are packed into one int64 key and uniqued as integers; anything else takes one lexsort.
    """
    arrays = [np.asarray(c, dtype=np.float64) for c in cols]
    n = arrays[0].size if arrays else 0
    if n == 0:
        return tuple(a[:0] for a in arrays), np.zeros(0), np.zeros(0, dtype=np.int64)
    packed = _packed_key(arrays)
    if packed is not None:
        key, radix = packed
        keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        unique_cols = []
        for base in radix[::-1]:
            keys, digit = np.divmod(keys, base)
            unique_cols.append(digit.astype(np.float64))
        return tuple(unique_cols[::-1]), counts.astype(np.float64), inverse.astype(np.int64).ravel()
    order = np.lexsort(arrays[::-1])
    ordered = [a[order] for a in arrays]
    change = np.zeros(n, dtype=bool)
    change[0] = True
    for a in ordered:
        change[1:] |= a[1:] != a[:-1]
    starts = np.flatnonzero(change)
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.cumsum(change) - 1
    weights = np.diff(np.append(starts, n)).astype(np.float64)
    return tuple(a[starts] for a in ordered), weights, inverse


def _packed_key(arrays: list[Array]) -> tuple[NDArray[np.int64], list[int]] | None:
    """One int64 per row (mixed radix) when every column holds whole numbers ≥ 0 small enough to pack."""
    radix: list[int] = []
    capacity = 1
    for a in arrays:
        low, high = float(a.min()), float(a.max())
        if low < 0 or high >= 2**31 or not np.array_equal(a, np.floor(a)):
            return None
        radix.append(int(high) + 1)
        capacity *= int(high) + 1
        if capacity >= 2**62:
            return None
    key = np.zeros(arrays[0].size, dtype=np.int64)
    for a, base in zip(arrays, radix, strict=True):
        key = key * base + a.astype(np.int64)
    return key, radix


RowsLoglik = Callable[..., tuple[Array, Array]]
# weighted(theta, weights, *columns) → (Σ weights·loglik, Σ weights·gradient)
WeightedLoglik = Callable[..., tuple[float, Array]]


def weighted_from_rows(rows_loglik: RowsLoglik) -> WeightedLoglik:
    """A weighted-sum objective from a per-row one (sums, not BLAS products: see _lbfgs)."""

    def weighted(theta: Array, weights: Array, *columns: Array) -> tuple[float, Array]:
        ll, grad = rows_loglik(theta, *columns)
        return float(np.einsum("i,i->", weights, ll)), np.einsum("i,ij->j", weights, grad)

    return weighted


# Above this many distinct rows, a fit first runs on a Poisson subsample (~WARM_ROWS rows) for its start.
WARM_ROWS = 40_000
# Largest |∂ mean loglik / ∂ ln θ| accepted: ~1e-7 relative in the parameters; tighter only buys line-search
# "precision loss" (the mean loglik has ~15 significant digits) and dozens of wasted evaluations.
GTOL = 1e-7


def maximise(
    weighted: WeightedLoglik,
    columns: tuple[Array, ...],
    weights: Array,
    start: Array,
    max_iterations: int = 2000,
) -> tuple[Array, float, bool, int, str]:
    """Maximise Σ weights·loglik over log-parameters; returns (log-params, total loglik, converged, iterations, message).

    weighted(theta, weights, *columns) gives Σ weights·loglik and its gradient w.r.t. theta.
    The objective is the mean negative loglik, so tolerances mean the same at any number of customers.
    Large inputs are first fitted on a seeded subsample: the full data then needs a few iterations only.
    """
    hess_inv = None
    if columns[0].size > 2 * WARM_ROWS:
        rng = np.random.default_rng(0)
        sub = rng.poisson(weights * (WARM_ROWS / columns[0].size)).astype(np.float64)
        keep = sub > 0
        if keep.sum() > 100:
            rough = _bfgs(
                weighted, tuple(c[keep] for c in columns), sub[keep], start, max_iterations, 1e-6, None
            )
            h = np.asarray(rough.hess_inv, dtype=np.float64)
            h = (h + h.T) / 2
            if np.all(np.isfinite(rough.x)) and np.all(np.isfinite(h)) and np.linalg.eigvalsh(h).min() > 0:
                # The subsample's optimum and curvature (per customer) are close to the full data's.
                start, hess_inv = np.asarray(rough.x, dtype=np.float64), h
    result = _bfgs(weighted, columns, weights, start, max_iterations, GTOL, hess_inv)
    theta = np.asarray(result.x, dtype=np.float64)
    grad_ok = result.jac is not None and float(np.max(np.abs(np.asarray(result.jac)))) < 1e-6
    at_bound = bool(np.any(np.abs(theta) >= LOG_BOUND - 1e-6))
    converged = (bool(result.success) or grad_ok) and not at_bound
    message = str(result.message) + (" (a parameter reached its bound)" if at_bound else "")
    return theta, -float(result.fun) * float(weights.sum()), converged, int(result.nit), message


def _bfgs(
    weighted: WeightedLoglik,
    columns: tuple[Array, ...],
    weights: Array,
    start: Array,
    max_iterations: int,
    gtol: float,
    hess_inv: Array | None,
) -> Any:
    total = float(weights.sum())

    def objective(theta: Array) -> tuple[float, Array]:
        if np.any(np.abs(theta) > LOG_BOUND):
            # Far outside any sensible model (e^30): refuse the step rather than overflow.
            return 1e300, np.zeros_like(theta)
        # einsum sums, not BLAS products: OpenBLAS threads for an (n × 4) product cost more than they
        # save on a shared machine (a 20k-customer fit went from 0.09 s to 0.4 s with them).
        ll, grad = weighted(theta, weights, *columns)
        value = -ll / total
        gradient = -grad / total
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            # A step into a region where the model overflows: tell the line search it is worse.
            return 1e300, np.zeros_like(theta)
        return value, gradient

    # BFGS, not L-BFGS-B: scipy's L-BFGS-B factorises its tiny matrices through OpenBLAS, whose threads
    # cost ~5 ms a call on a busy machine, as much as evaluating 300k rows.
    options: dict[str, Any] = {"maxiter": max_iterations, "gtol": gtol}
    if hess_inv is not None:
        options["hess_inv0"] = hess_inv
    return minimize(objective, start, jac=True, method="BFGS", options=options)


def time_start(T: Array, weights: Array) -> float:
    """ln of the weighted mean T: the starting ln α (and ln β), so the search starts on the data's time scale.

    Parameters are searched in log space, where changing the time unit only shifts ln α: starting there
    conditions the fit like rescaling the data would, while t_x and T stay whole days (see per_value).
    """
    mean_T = float((weights * T).sum()) / max(float(weights.sum()), 1.0)
    return float(np.log(mean_T)) if mean_T > 0 else 0.0


def per_value(values: Array) -> Callable[[Callable[[Array], Array]], Array]:
    """Evaluate a function once per distinct whole number of values and spread it by lookup.

    x (counts) and, in days, t_x and T (at most a few thousand values) repeat across hundreds of
    thousands of distinct rows: their logs, Γ and ψ values cost a table and a take instead.
    """
    whole = values.size > 0 and float(values.max()) < 1e6 and np.array_equal(values, np.floor(values))
    if not whole:
        return lambda f: f(values)
    index = values.astype(np.int64)
    grid = np.arange(int(index.max()) + 1, dtype=np.float64)

    def spread(f: Callable[[Array], Array]) -> Array:
        # The grid holds every whole number up to the max, some absent from values (0 in x > 0 rows):
        # their entries may be inf/nan and are never taken.
        with np.errstate(divide="ignore", invalid="ignore"):
            table = f(grid)
        return np.take(table, index)

    return spread


def bgnbd_rows_loglik(theta: Array, x: Array, t_x: Array, T: Array) -> tuple[Array, Array]:
    """Per-row log-likelihood and its gradient w.r.t. theta = ln(r, α, a, b).

    ln L = lnΓ(r+x) − lnΓ(r) + r ln α + ln B(a, b+x) − ln B(a, b)
           + ln[(α+T)^−(r+x) + δ(x>0)·a/(b+x−1)·(α+t_x)^−(r+x)]
    """
    r, alpha, a, b = np.exp(theta)
    by_x, by_t, by_T = per_value(x), per_value(t_x), per_value(T)
    rx = r + x
    log_alpha_T, log_alpha_t = by_T(lambda v: np.log(alpha + v)), by_t(lambda v: np.log(alpha + v))
    head = by_x(lambda v: gammaln(r + v) + gammaln(b + v) - gammaln(a + b + v)) + (
        r * np.log(alpha) - gammaln(r) + gammaln(a + b) - gammaln(b)
    )
    survive = -rx * log_alpha_T
    # d = ln(dropped-after-t_x term / alive-at-T term); −inf where x = 0 (no such term).
    log_odds = by_x(lambda v: np.where(v > 0, np.log(a) - np.log(b + np.maximum(v, 1.0) - 1.0), -np.inf))
    d = log_odds + rx * (log_alpha_T - log_alpha_t)
    tail = survive + np.logaddexp(0.0, d)
    w = expit(d)  # share of the "dropped out after t_x" term; 0 when x = 0
    psi_ab = digamma(a + b)
    g = np.empty((x.size, 4))
    g[:, 0] = r * (
        by_x(lambda v: digamma(r + v))
        - digamma(r)
        + np.log(alpha)
        - log_alpha_T
        + w * (log_alpha_T - log_alpha_t)
    )
    inv_T, inv_t = by_T(lambda v: 1.0 / (alpha + v)), by_t(lambda v: 1.0 / (alpha + v))
    g[:, 1] = r - alpha * rx * (inv_T + w * (inv_t - inv_T))
    psi_abx = by_x(lambda v: digamma(a + b + v))
    g[:, 2] = a * (psi_ab - psi_abx) + w
    inv_bx1 = by_x(lambda v: 1.0 / (b + np.maximum(v, 1.0) - 1.0))
    g[:, 3] = b * (psi_ab - digamma(b) + by_x(lambda v: digamma(b + v)) - psi_abx - w * inv_bx1)
    return head + tail, g


def bgnbd_weighted_loglik(
    theta: Array, weights: Array, x: Array, t_x: Array, T: Array
) -> tuple[float, Array]:
    """Σ weights·ln L and its gradient w.r.t. ln(r, α, a, b), without per-row gradient arrays.

    Same sums as bgnbd_rows_loglik: every term that depends on x, t_x or T alone is summed once per distinct
    value (weights binned by value); only the terms mixing them run over the rows. About half the passes.
    """
    r, alpha, a, b = np.exp(theta)
    by_x, by_t, by_T = per_value(x), per_value(t_x), per_value(T)
    total = float(weights.sum())

    def dot(u: Array, v: Array) -> float:
        return float(np.einsum("i,i->", u, v))

    def sum_x(f: Callable[[Array], Array]) -> float:
        # Σ weights·f(x) over distinct x (whole counts) or over the rows.
        if x.size and np.array_equal(x, np.floor(x)) and float(x.max()) < 1e6:
            per = np.bincount(x.astype(np.int64), weights=weights).astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                values = f(np.arange(per.size, dtype=np.float64))
            return dot(per[per > 0], values[per > 0])
        return dot(weights, f(x))

    rx = r + x
    log_alpha_T, log_alpha_t = by_T(lambda v: np.log(alpha + v)), by_t(lambda v: np.log(alpha + v))
    span = log_alpha_T - log_alpha_t
    log_odds = by_x(lambda v: np.where(v > 0, np.log(a) - np.log(b + np.maximum(v, 1.0) - 1.0), -np.inf))
    d = log_odds + rx * span
    w = weights * expit(d)  # weight × share of the "dropped out after t_x" term
    w_rx = weights * rx
    ll = (
        sum_x(lambda v: gammaln(r + v) + gammaln(b + v) - gammaln(a + b + v))
        + total * (r * np.log(alpha) - gammaln(r) + gammaln(a + b) - gammaln(b))
        - dot(w_rx, log_alpha_T)
        + dot(weights, np.logaddexp(0.0, d))
    )
    psi_ab = digamma(a + b)
    sum_psi_abx = sum_x(lambda v: digamma(a + b + v))
    sum_w = float(w.sum())
    inv_T = by_T(lambda v: 1.0 / (alpha + v))
    g = np.empty(4)
    g[0] = r * (
        sum_x(lambda v: digamma(r + v))
        + total * (np.log(alpha) - digamma(r))
        - dot(weights, log_alpha_T)
        + dot(w, span)
    )
    g[1] = r * total - alpha * (dot(w_rx, inv_T) + dot(w * rx, by_t(lambda v: 1.0 / (alpha + v)) - inv_T))
    g[2] = a * (psi_ab * total - sum_psi_abx) + sum_w
    g[3] = b * (
        total * (psi_ab - digamma(b))
        + sum_x(lambda v: digamma(b + v))
        - sum_psi_abx
        - dot(w, by_x(lambda v: 1.0 / (b + np.maximum(v, 1.0) - 1.0)))
    )
    return float(ll), g


def bgnbd_loglik(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """Per-customer BG/NBD log-likelihood."""
    xa, ta, Ta = check_history(x, t_x, T, where="bgnbd loglik")
    theta = np.log([params.r, params.alpha, params.a, params.b])
    return bgnbd_rows_loglik(theta, xa, ta, Ta)[0]


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    max_iterations: int = 2000,
) -> BgNbdFit:
    """Maximum-likelihood BG/NBD parameters (time unit of the inputs); identical rows are fitted once.

    Needs at least one repeat buyer (x > 0): without one the dropout process leaves no trace to fit.
    """
    xa, ta, Ta = check_history(x, t_x, T, where="bgnbd fit")
    (ux, ut, uT), counts, inverse = collapse(xa, ta, Ta)
    if weights is not None:
        wa = as_array("weights", weights, where="bgnbd fit")
        if wa.size != xa.size:
            raise Invalid(f"bgnbd fit: weights has {wa.size} entries for {xa.size} customers")
        counts = np.bincount(inverse, weights=wa, minlength=ux.size).astype(np.float64)
    if ux.size == 0 or counts.sum() <= 0:
        raise Invalid("bgnbd fit: no customers to fit")
    if not np.any((ux > 0) & (counts > 0)):
        raise Invalid("bgnbd fit: no customer has a repeat purchase (x > 0), the model cannot be identified")
    theta, loglik, converged, iterations, message = maximise(
        bgnbd_weighted_loglik,
        (ux, ut, uT),
        counts,
        np.array([0.0, time_start(uT, counts), 0.0, 0.0]),
        max_iterations,
    )
    r, alpha, a, b = np.exp(theta)
    params = BgNbdParams(r=float(r), alpha=float(alpha), a=float(a), b=float(b))
    return BgNbdFit(params, loglik, round(float(counts.sum())), int(ux.size), converged, iterations, message)


def _odds_dropped(params: BgNbdParams, x: Array, t_x: Array, T: Array) -> Array:
    """a/(b+x−1)·((α+T)/(α+t_x))^(r+x) for repeat buyers, 0 for the others."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_odds = (
        np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    )
    return np.where(x > 0, np.exp(np.minimum(log_odds, 700.0)), 0.0)


def bgnbd_p_alive(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """P(alive at T | x, t_x, T) = 1 / (1 + δ(x>0)·a/(b+x−1)·((α+T)/(α+t_x))^(r+x))."""
    xa, ta, Ta = check_history(x, t_x, T, where="bgnbd p_alive")
    return 1.0 / (1.0 + _odds_dropped(params, xa, ta, Ta))


def bgnbd_expected_purchases(
    params: BgNbdParams, t: float | ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Array:
    """E[purchases in (T, T+t] | x, t_x, T] (equation 10 of Fader, Hardie & Lee 2005).

    (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · 2F1(r+x, b+x; a+b+x−1; t/(α+T+t))] / (1 + odds dropped)
    The 2F1 is evaluated after Euler's transformation, (1−z)^(a−1−r−x)·2F1(a+b−1−r, a−1; a+b+x−1; z):
    the original has c−a−b = a−1−r−x < 0 and diverges as z → 1 (long horizons); the transformed one has
    c−a−b = r+x+1−a > 0 and stays finite, its growth moved into the explicit power.
    """
    xa, ta, Ta = check_history(x, t_x, T, where="bgnbd expected purchases")
    ts = np.broadcast_to(np.asarray(t, dtype=np.float64), xa.shape)
    if np.any(~np.isfinite(ts) | (ts < 0)):
        raise Invalid("bgnbd expected purchases: t must be finite and non-negative")
    r, alpha, b = params.r, params.alpha, params.b
    z = ts / (alpha + Ta + ts)
    log_one_minus_z = np.log(alpha + Ta) - np.log(alpha + Ta + ts)

    def head(a: float) -> Array:
        # ((α+T)/(α+T+t))^(r+x) · 2F1(...) = (1−z)^(a−1) · 2F1(a+b−1−r, a−1; a+b+x−1; z)
        product = np.exp((a - 1.0) * log_one_minus_z) * hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + xa - 1.0, z)
        return np.asarray((a + b + xa - 1.0) / (a - 1.0) * (1.0 - product), dtype=np.float64)

    # a = 1 is a removable 0/0; the expression is smooth in a, so the mean of both sides is exact to O(h²).
    h = 1e-4
    bracket = head(params.a) if abs(params.a - 1.0) >= h else (head(1.0 - h) + head(1.0 + h)) / 2
    return np.asarray(bracket / (1.0 + _odds_dropped(params, xa, ta, Ta)), dtype=np.float64)


def bgnbd_expected_gap(params: BgNbdParams, x: ArrayLike, T: ArrayLike) -> Array:
    """A customer's own expected time between purchases while alive: 1/E[λ | x, T] = (α+T)/(r+x).

    While alive, λ's posterior is Gamma(r+x, α+T). Its 1/mean is used, not the posterior mean of 1/λ
    ((α+T)/(r+x−1)): that one is infinite when r+x ≤ 1 (every one-time buyer when r < 1, as in CDNOW) and
    is dominated by the posterior's slow-buyer tail for few purchases.
    """
    xa = as_array("x", x, where="bgnbd expected gap")
    Ta = as_array("T", T, where="bgnbd expected gap")
    return (params.alpha + Ta) / (params.r + xa)
