"""BG/NBD calibration check: expected vs observed customers by number of repeat purchases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import numpy as np
from numpy.typing import NDArray
from scipy.special import betaln, gammaln

from siyu.insights.contract import BgNbdParams
from siyu.insights.schemas import CalibrationRow

MAX_REPEAT = 7  # the last row is "7 or more"


def bgnbd_pmf(params: BgNbdParams, t: NDArray[np.float64], max_x: int) -> NDArray[np.float64]:
    """P(X(t) = x) for x = 0..max_x-1 and P(X(t) ≥ max_x) in the last column, one row per t.

    Fader, Hardie & Lee (2005), eq. 8: the customer is alive throughout with probability
    B(a, b+x)/B(a, b) (then X is negative binomial), or drops out after the x-th purchase.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=np.float64).reshape(-1, 1)
    x = np.arange(max_x, dtype=np.float64).reshape(1, -1)
    log_p = np.log(alpha / (alpha + t))
    # log(t/(α+t)) is -inf at t = 0, where only x = 0 has mass: 0 × -inf must count as 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.log(t / (alpha + t))
        x_log_q = np.where(x == 0, 0.0, x * log_q)
    log_nb = gammaln(r + x) - gammaln(r) - gammaln(x + 1) + r * log_p + x_log_q
    nb = np.exp(log_nb)  # negative binomial P(X = x) while alive
    cum_before = np.cumsum(nb, axis=1) - nb  # Σ_{j<x} nb_j
    alive = np.exp(betaln(a, b + x) - betaln(a, b)) * nb
    with np.errstate(invalid="ignore"):
        dropped = np.where(x > 0, np.exp(betaln(a + 1, b + x - 1) - betaln(a, b)) * (1.0 - cum_before), 0.0)
    head = alive + dropped
    tail = np.clip(1.0 - head.sum(axis=1, keepdims=True), 0.0, 1.0)
    out: NDArray[np.float64] = np.hstack([head, tail])
    return out


def calibration_rows(
    groups: Iterable[tuple[int, date, int]], as_of: date, params: BgNbdParams, max_x: int = MAX_REPEAT
) -> list[CalibrationRow]:
    """Observed vs expected customers by repeat purchases (purchase days - 1) over each customer's age.

    groups are (purchase days, first order day, customers); a customer's age T is the days from the
    first order day to as_of, as in the fit.
    """
    items = [(max(p - 1, 0), (as_of - first).days, n) for p, first, n in groups]
    observed = np.zeros(max_x + 1, dtype=np.int64)
    if not items:
        return [CalibrationRow(repeat=x, observed=0, expected=0.0) for x in range(max_x + 1)]
    ages = np.array(sorted({max(age, 0) for _, age, _ in items}), dtype=np.float64)
    weights = np.zeros(len(ages))
    position = {age: i for i, age in enumerate(ages.tolist())}
    for repeat, age, n in items:
        observed[min(repeat, max_x)] += n
        weights[position[float(max(age, 0))]] += n
    expected = weights @ bgnbd_pmf(params, ages, max_x)
    return [
        CalibrationRow(repeat=x, observed=int(observed[x]), expected=float(expected[x]))
        for x in range(max_x + 1)
    ]
