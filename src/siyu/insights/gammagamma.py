"""Gamma-Gamma spend model (Fader & Hardie 2013) and customer lifetime value on top of BG/NBD.

Spend per purchase of a customer is Gamma(p, ν) with ν ~ Gamma(q, v) across customers; the model is
fitted on repeat buyers (x > 0) from x and m_x, the mean spend of their x repeat purchases.
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
    bgnbd_expected_purchases,
    check_history,
    collapse,
    maximise,
    per_value,
    weighted_from_rows,
)
from siyu.insights.contract import BgNbdParams, GammaGammaParams

PERIOD_DAYS = 30  # CLV discounts expected purchases period by period, like the literature's monthly sums


@dataclass(frozen=True, slots=True)
class GammaGammaFit:
    """A fitted Gamma-Gamma model and how the fit went."""

    params: GammaGammaParams
    loglik: float
    n: int  # repeat buyers fitted
    unique_rows: int
    converged: bool
    iterations: int
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Parameters and fit facts as one flat JSON-ready dict."""
        return {**asdict(self.params), **{k: v for k, v in asdict(self).items() if k != "params"}}


def _spend(x: ArrayLike, m: ArrayLike, where: str) -> tuple[Array, Array]:
    xa, ma = as_array("x", x, where=where), as_array("m", m, where=where)
    if xa.size != ma.size:
        raise Invalid(f"{where}: x and m differ in length ({xa.size}, {ma.size})")
    return xa, ma


def gg_rows_loglik(theta: Array, x: Array, m: Array) -> tuple[Array, Array]:
    """Per-row Gamma-Gamma log-likelihood of (x, m_x) and its gradient w.r.t. theta = ln(p, q, v).

    ln L = lnΓ(px+q) − lnΓ(px) − lnΓ(q) + q ln v + (px−1) ln m + px ln x − (px+q) ln(v + x m)
    """
    p, q, v = np.exp(theta)
    by_x = per_value(x)
    px = p * x
    log_m, log_vxm = np.log(m), np.log(v + x * m)
    psi = by_x(lambda u: digamma(p * u + q))
    ll = (
        by_x(lambda u: gammaln(p * u + q) - gammaln(p * u) + p * u * np.log(u))
        - gammaln(q)
        + q * np.log(v)
        + (px - 1.0) * log_m
        - (px + q) * log_vxm
    )
    g = np.empty((x.size, 3))
    g[:, 0] = px * (psi - by_x(lambda u: digamma(p * u) - np.log(u)) + log_m - log_vxm)
    g[:, 1] = q * (psi - digamma(q) + np.log(v) - log_vxm)
    g[:, 2] = q - v * (px + q) / (v + x * m)
    return ll, g


def fit_gamma_gamma(
    x: ArrayLike, m: ArrayLike, weights: ArrayLike | None = None, *, max_iterations: int = 2000
) -> GammaGammaFit:
    """Maximum-likelihood Gamma-Gamma parameters from repeat buyers (rows with x = 0 are ignored).

    m is the mean spend of the x repeat purchases; it must be positive where x > 0.
    """
    xa, ma = _spend(x, m, "gamma-gamma fit")
    wa = np.ones_like(xa) if weights is None else as_array("weights", weights, where="gamma-gamma fit")
    if wa.size != xa.size:
        raise Invalid(f"gamma-gamma fit: weights has {wa.size} entries for {xa.size} customers")
    keep = xa > 0
    bad = np.flatnonzero(keep & (ma <= 0))
    if bad.size:
        i = int(bad[0])
        raise Invalid(
            f"gamma-gamma fit: m[{i}] = {float(ma[i])!r} but x[{i}] = {float(xa[i])!r}: a repeat buyer needs positive spend",
            details={"array": "m", "index": i, "count": int(bad.size)},
        )
    (ux, um), _, inverse = collapse(xa[keep], ma[keep])
    counts = np.bincount(inverse, weights=wa[keep], minlength=ux.size).astype(np.float64)
    if ux.size == 0 or counts.sum() <= 0:
        raise Invalid("gamma-gamma fit: no repeat buyers (x > 0) to fit")
    # Only v carries the money unit: starting ln v at ln(mean spend) conditions the search (see time_start).
    start = np.array([0.0, 0.0, float(np.log((counts * um).sum() / counts.sum()))])
    theta, loglik, converged, iterations, message = maximise(
        weighted_from_rows(gg_rows_loglik), (ux, um), counts, start, max_iterations
    )
    p, q, v = np.exp(theta)
    params = GammaGammaParams(p=float(p), q=float(q), v=float(v))
    return GammaGammaFit(
        params, loglik, round(float(counts.sum())), int(ux.size), converged, iterations, message
    )


def gg_expected_value(params: GammaGammaParams, x: ArrayLike, m: ArrayLike) -> Array:
    """E[spend per purchase | x, m_x] = (q−1)/(px+q−1)·pv/(q−1) + px/(px+q−1)·m_x (population mean for x = 0).

    Needs q > 1 (otherwise the population mean spend is infinite): Invalid otherwise.
    """
    xa, ma = _spend(x, m, "gamma-gamma expected value")
    p, q, v = params.p, params.q, params.v
    if q <= 1.0:
        raise Invalid(f"gamma-gamma expected value: q = {q} ≤ 1, the mean spend per purchase is infinite")
    return (p * v + p * xa * ma) / (p * xa + q - 1.0)


def clv(
    bgnbd: BgNbdParams,
    gamma_gamma: GammaGammaParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    m: ArrayLike,
    *,
    horizon_days: int,
    annual_discount_rate: float,
    margin: float = 1.0,
    unit_days: float = 1.0,
) -> Array:
    """Expected discounted margin over the next horizon_days, per customer (in m's money unit).

    CLV = margin · E[spend per purchase | x, m] · Σ_k (E[Y(e_k)] − E[Y(e_{k−1})]) / (1 + d)^(e_k / 365)
    where the horizon is cut into 30-day periods ending at e_k days (the last one may be shorter),
    E[Y(t)] is BG/NBD's expected purchases in the next t, and d the annual discount rate: each
    period's purchases are discounted from the period's end, like the monthly sums of the literature.
    The BG/NBD inputs and parameters are in units of unit_days days.
    """
    xa, ta, Ta = check_history(x, t_x, T, where="clv")
    ma = as_array("m", m, where="clv")
    if horizon_days <= 0 or annual_discount_rate < 0.0 or not 0.0 < margin <= 1.0:
        raise Invalid("clv: horizon_days must be > 0, annual_discount_rate ≥ 0 and margin in (0, 1]")
    ends = np.append(np.arange(PERIOD_DAYS, horizon_days, PERIOD_DAYS), horizon_days).astype(np.float64)
    discount = (1.0 + annual_discount_rate) ** (-ends / 365.0)
    # Purchases depend on (x, t_x, T) only: evaluate each distinct history once.
    (ux, ut, uT), _, inverse = collapse(xa, ta, Ta)
    previous = np.zeros(ux.size)
    purchases = np.zeros(ux.size)
    for end, factor in zip(ends, discount, strict=True):
        current = bgnbd_expected_purchases(bgnbd, end / unit_days, ux, ut, uT)
        purchases += (current - previous) * factor
        previous = current
    return margin * gg_expected_value(gamma_gamma, xa, ma) * purchases[inverse]
