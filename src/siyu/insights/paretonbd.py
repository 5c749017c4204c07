"""Pareto/NBD purchase-count model (Schmittlein, Morrison & Colombo 1987), vectorised, analytic gradients.

The likelihood's integral over the unobserved dropout time,
    I = ∫_{t_x}^{T} (α+τ)^−(r+x) (β+τ)^−(s+1) dτ,
is the usual pair of 2F1(r+s+x, ·; r+s+x+1; z) terms. Those have c−a−b < 0 and blow up as z → 1, which
is where scipy.special.hyp2f1 loses accuracy. After Euler's transformation each becomes
(1−z)^e · 2F1(1, b; r+s+x+1; z) with c > b > 0: a series of positive terms with no cancellation,
summed here directly, in log space, together with its derivatives in b, c and z.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import digamma, gammaln

from siyu.errors import Invalid
from siyu.insights.bgnbd import (
    Array,
    as_array,
    check_history,
    collapse,
    maximise,
    time_start,
    weighted_from_rows,
)
from siyu.insights.contract import ParetoNbdParams

SERIES_MAX_TERMS = 100_000  # z ≤ |α−β|/max(α,β): only near-degenerate fits come close to this


@dataclass(frozen=True, slots=True)
class ParetoNbdFit:
    """A fitted Pareto/NBD model and how the fit went."""

    params: ParetoNbdParams
    loglik: float
    n: int
    unique_rows: int
    converged: bool
    iterations: int
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Parameters and fit facts as one flat JSON-ready dict."""
        return {**asdict(self.params), **{k: v for k, v in asdict(self).items() if k != "params"}}


def hyp2f1_1bc(b: Array, c: Array, z: Array) -> tuple[Array, Array, Array, Array]:
    """2F1(1, b; c; z) for c > b > 0, 0 ≤ z < 1, with ∂/∂b, ∂/∂c and ∂/∂z (each divided by the value).

    Terms t_k = (b)_k/(c)_k z^k are positive; ∂t_k/∂b = t_k Σ_{j<k} 1/(b+j), ∂t_k/∂c = −t_k Σ_{j<k} 1/(c+j).
    Summed until the tail bound t_k·ρ/(1−ρ) (ρ = the term ratio, increasing to z) is below 1e-17 of the sum.
    """
    n = z.size
    total, d_b, d_c, d_z = np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n)
    term, s_b, s_c = np.ones(n), np.zeros(n), np.zeros(n)
    z_term = np.ones(n)  # t_k / z, so ∂/∂z needs no division by z
    active = np.arange(n)
    k = 0
    while active.size and k < SERIES_MAX_TERMS:
        bk, ck, zk = b[active] + k, c[active] + k, z[active]
        ratio = bk / ck
        s_b[active] += 1.0 / bk
        s_c[active] += 1.0 / ck
        z_term[active] = term[active] * ratio
        term[active] = z_term[active] * zk
        k += 1
        total[active] += term[active]
        d_b[active] += term[active] * s_b[active]
        d_c[active] -= term[active] * s_c[active]
        d_z[active] += k * z_term[active]
        # The ratio (b+k)/(c+k)·z only grows towards z, so z/(1−z) bounds the rest relative to this term.
        rest = term[active] * (1.0 + k) * zk / np.maximum(1.0 - zk, 1e-300)
        active = active[rest > 1e-17 * total[active]]
    if active.size:
        raise Invalid(
            f"pareto/nbd: 2F1 series did not converge for {active.size} rows (z up to {z.max():.6f})"
        )
    return total, d_b / total, d_c / total, d_z / total


def _integral_terms(r: float, alpha: float, s: float, beta: float, x: Array, t: Array) -> tuple[Array, Array]:
    """ln J(t) and ∂ln J/∂(r, α, s, β) where I = J(t_x) − J(T) (see the module docstring).

    α ≥ β: J(t) = (α+t)^−K · ((β+t)/(α+t))^−s · 2F1(1, r+x; K+1; (α−β)/(α+t)) / K
    α < β: J(t) = (β+t)^−K · ((α+t)/(β+t))^(1−r−x) · 2F1(1, s+1; K+1; (β−α)/(β+t)) / K,  K = r+s+x.
    """
    K = r + s + x
    big, small = (alpha, beta) if alpha >= beta else (beta, alpha)
    log_big, log_small = np.log(big + t), np.log(small + t)
    z = (big - small) / (big + t)
    if alpha >= beta:
        e, b = -s * np.ones_like(x), r + x
    else:
        e, b = 1.0 - r - x, (s + 1.0) * np.ones_like(x)
    F, dF_b, dF_c, dF_z = hyp2f1_1bc(b, K + 1.0, z)
    log_j = -K * log_big + e * (log_small - log_big) + np.log(F) - np.log(K)
    d_K = -log_big - 1.0 / K + dF_c
    dz_big, dz_small = (small + t) / (big + t) ** 2, -1.0 / (big + t)
    d_big = -K / (big + t) - e / (big + t) + dF_z * dz_big
    d_small = e / (small + t) + dF_z * dz_small
    g = np.empty((x.size, 4))
    if alpha >= beta:
        g[:, 0] = d_K + dF_b
        g[:, 2] = d_K - (log_small - log_big)
        g[:, 1], g[:, 3] = d_big, d_small
    else:
        g[:, 0] = d_K - (log_small - log_big)
        g[:, 2] = d_K + dF_b
        g[:, 1], g[:, 3] = d_small, d_big
    return log_j, g


def _parts(theta: Array, x: Array, t_x: Array, T: Array) -> tuple[Array, Array, Array, Array, Array, Array]:
    """ln of the 'alive at T' and 'died in (t_x, T]' likelihood terms (common factor excluded), with gradients."""
    r, alpha, s, beta = np.exp(theta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    g_alive = np.empty((x.size, 4))
    g_alive[:, 0], g_alive[:, 1] = -np.log(alpha + T), -(r + x) / (alpha + T)
    g_alive[:, 2], g_alive[:, 3] = -np.log(beta + T), -s / (beta + T)
    died = np.full(x.size, -np.inf)
    g_died = np.zeros((x.size, 4))
    open_ = t_x < T  # t_x = T leaves no time to die unseen
    if np.any(open_):
        xs, ts, Ts = x[open_], t_x[open_], T[open_]
        lj_t, g_t = _integral_terms(r, alpha, s, beta, xs, ts)
        lj_T, g_T = _integral_terms(r, alpha, s, beta, xs, Ts)
        rho = np.exp(lj_T - lj_t)  # J(T)/J(t_x) < 1
        died[open_] = np.log(s) + lj_t + np.log1p(-rho)
        g = (g_t - rho[:, None] * g_T) / (1.0 - rho)[:, None]
        g[:, 2] += 1.0 / s
        g_died[open_] = g
    return alive, g_alive, died, g_died, np.exp(theta), np.asarray(open_)


def paretonbd_rows_loglik(theta: Array, x: Array, t_x: Array, T: Array) -> tuple[Array, Array]:
    """Per-row log-likelihood and gradient w.r.t. theta = ln(r, α, s, β).

    ln L = lnΓ(r+x) − lnΓ(r) + r ln α + s ln β + ln[(α+T)^−(r+x)(β+T)^−s + s·I]
    """
    alive, g_alive, died, g_died, (r, alpha, s, beta), _ = _parts(theta, x, t_x, T)
    tail = np.logaddexp(alive, died)
    w = np.exp(died - tail)[:, None]
    g = (1.0 - w) * g_alive + w * g_died
    g[:, 0] += digamma(r + x) - digamma(r) + np.log(alpha)
    g[:, 1] += r / alpha
    g[:, 2] += np.log(beta)
    g[:, 3] += s / beta
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + tail
    return ll, g * np.exp(theta)


def fit_paretonbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    weights: ArrayLike | None = None,
    *,
    max_iterations: int = 2000,
) -> ParetoNbdFit:
    """Maximum-likelihood Pareto/NBD parameters (time unit of the inputs); identical rows are fitted once."""
    xa, ta, Ta = check_history(x, t_x, T, where="pareto/nbd fit")
    (ux, ut, uT), counts, inverse = collapse(xa, ta, Ta)
    if weights is not None:
        wa = as_array("weights", weights, where="pareto/nbd fit")
        if wa.size != xa.size:
            raise Invalid(f"pareto/nbd fit: weights has {wa.size} entries for {xa.size} customers")
        counts = np.bincount(inverse, weights=wa, minlength=ux.size).astype(np.float64)
    if ux.size == 0 or counts.sum() <= 0:
        raise Invalid("pareto/nbd fit: no customers to fit")
    if not np.any((ux > 0) & (counts > 0)):
        raise Invalid(
            "pareto/nbd fit: no customer has a repeat purchase (x > 0), the model cannot be identified"
        )
    ln_t = time_start(uT, counts)
    theta, loglik, converged, iterations, message = maximise(
        weighted_from_rows(paretonbd_rows_loglik),
        (ux, ut, uT),
        counts,
        np.array([0.0, ln_t, 0.0, ln_t]),
        max_iterations,
    )
    r, alpha, s, beta = np.exp(theta)
    params = ParetoNbdParams(r=float(r), alpha=float(alpha), s=float(s), beta=float(beta))
    return ParetoNbdFit(
        params, loglik, round(float(counts.sum())), int(ux.size), converged, iterations, message
    )


def paretonbd_loglik(params: ParetoNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """Per-customer Pareto/NBD log-likelihood."""
    xa, ta, Ta = check_history(x, t_x, T, where="pareto/nbd loglik")
    theta = np.log([params.r, params.alpha, params.s, params.beta])
    return paretonbd_rows_loglik(theta, xa, ta, Ta)[0]


def paretonbd_p_alive(params: ParetoNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Array:
    """P(alive at T | x, t_x, T): the 'alive at T' term's share of the likelihood."""
    xa, ta, Ta = check_history(x, t_x, T, where="pareto/nbd p_alive")
    (ux, ut, uT), _, inverse = collapse(xa, ta, Ta)
    theta = np.log([params.r, params.alpha, params.s, params.beta])
    alive, _, died, _, _, _ = _parts(theta, ux, ut, uT)
    return np.exp(alive - np.logaddexp(alive, died))[inverse]


def paretonbd_expected_purchases(
    params: ParetoNbdParams, t: float | ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Array:
    """E[purchases in (T, T+t] | x, t_x, T] = (r+x)(β+T)/((α+T)(s−1))·[1 − ((β+T)/(β+T+t))^(s−1)]·P(alive).

    At s = 1 the bracket over (s−1) is its limit ln((β+T+t)/(β+T)); expm1/log1p keep s ≈ 1 exact.
    """
    xa, ta, Ta = check_history(x, t_x, T, where="pareto/nbd expected purchases")
    ts = np.broadcast_to(np.asarray(t, dtype=np.float64), xa.shape)
    if np.any(~np.isfinite(ts) | (ts < 0)):
        raise Invalid("pareto/nbd expected purchases: t must be finite and non-negative")
    r, alpha, s, beta = params.r, params.alpha, params.s, params.beta
    log_growth = np.log1p(ts / (beta + Ta))  # ln((β+T+t)/(β+T))
    sm1 = s - 1.0
    bracket = -np.expm1(-sm1 * log_growth) / sm1 if abs(sm1) > 1e-12 else log_growth
    rate = (r + xa) * (beta + Ta) / (alpha + Ta)
    return np.asarray(rate * bracket * paretonbd_p_alive(params, xa, ta, Ta), dtype=np.float64)
