"""Pure statistics for A/B(/n) tests of rates: z-test, sample size, Wilson/Newcombe intervals, Holm, Welch.

Conventions: arm 0 is the control; every difference is treatment minus control; alpha is the
two-sided family-wise error rate of the whole experiment.

- Test: pooled two-proportion z-test, no continuity correction:
  z = (p_t - p_c) / sqrt(p (1 - p) (1/n_t + 1/n_c)), p = (x_t + x_c) / (n_t + n_c).
- Sample size per arm (equal arms), the normal approximation with the pooled variance under H0 and
  the unpooled variance under H1 (Fleiss, without continuity correction), matching the test above:
  n = ceil( (z_{1-a/2} sqrt(2 pbar (1 - pbar)) + z_{power} sqrt(p1 (1 - p1) + p2 (1 - p2)))^2 / d^2 ),
  p2 = p1 + d, pbar = (p1 + p2) / 2.  (Cohen's-h power tables use arcsine-transformed rates and give
  slightly different n; this formula is the one whose null variance is exactly the test's.)
- A/B/n: each arm against the control, p-values adjusted by Holm's step-down (controls the family-wise
  error like Bonferroni, never less powerful); the minimum sample uses alpha / (arms - 1) (Bonferroni)
  so the plan is conservative for every comparison.
- Interval of one rate: Wilson score. Interval of a difference: Newcombe's hybrid score (method 10),
  built from the two Wilson intervals — good coverage at small n and near 0, unlike Wald.
- GMV per recipient: mean with a Student t interval per arm, difference with a Welch t interval
  (unequal variances, Welch–Satterthwaite df). Reported only; the verdict never uses it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import stats

Alternative = Literal["two-sided", "larger", "smaller"]
Verdict = Literal["collecting", "significant", "not_significant"]


@dataclass(frozen=True)
class ZTest:
    """A two-proportion z-test result (treatment minus control)."""

    z: float
    p_value: float


def _z(q: float) -> float:
    return float(stats.norm.ppf(q))


def two_proportion_ztest(
    x_t: int, n_t: int, x_c: int, n_c: int, alternative: Alternative = "two-sided"
) -> ZTest:
    """Pooled z-test of rate_t - rate_c = 0; "larger" tests rate_t > rate_c. NaN when undefined."""
    if n_t <= 0 or n_c <= 0:
        return ZTest(math.nan, math.nan)
    pooled = (x_t + x_c) / (n_t + n_c)
    var = pooled * (1.0 - pooled) * (1.0 / n_t + 1.0 / n_c)
    diff = x_t / n_t - x_c / n_c
    if var <= 0.0:  # every one succeeded or none did: no evidence of any difference
        return ZTest(0.0, 1.0)
    z = diff / math.sqrt(var)
    if alternative == "two-sided":
        p = 2.0 * float(stats.norm.sf(abs(z)))
    elif alternative == "larger":
        p = float(stats.norm.sf(z))
    else:
        p = float(stats.norm.cdf(z))
    return ZTest(z, min(1.0, p))


def wilson_interval(x: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval of x successes out of n ((0, 1) when n is 0)."""
    if n <= 0:
        return (0.0, 1.0)
    z = _z(1.0 - alpha / 2.0)
    p = x / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(p * (1.0 - p) / n + z * z / (4.0 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def newcombe_interval(x_t: int, n_t: int, x_c: int, n_c: int, alpha: float = 0.05) -> tuple[float, float]:
    """Newcombe hybrid score interval of rate_t - rate_c (method 10, from the two Wilson intervals)."""
    if n_t <= 0 or n_c <= 0:
        return (-1.0, 1.0)
    p_t, p_c = x_t / n_t, x_c / n_c
    l_t, u_t = wilson_interval(x_t, n_t, alpha)
    l_c, u_c = wilson_interval(x_c, n_c, alpha)
    d = p_t - p_c
    lower = d - math.sqrt((p_t - l_t) ** 2 + (u_c - p_c) ** 2)
    upper = d + math.sqrt((u_t - p_t) ** 2 + (p_c - l_c) ** 2)
    return (lower, upper)


def min_sample_per_arm(
    baseline_rate: float, mde: float, alpha: float = 0.05, power: float = 0.8, comparisons: int = 1
) -> int:
    """Recipients each arm needs to detect an absolute lift mde over baseline_rate (two-sided, equal arms).

    comparisons > 1 (A/B/n) divides alpha by it (Bonferroni) so every arm-vs-control test keeps its power.
    """
    p1, p2 = baseline_rate, baseline_rate + mde
    if not 0.0 < p1 < 1.0:
        raise ValueError(f"baseline rate must be strictly between 0 and 1, got {p1}")
    if mde == 0.0 or not 0.0 < p2 < 1.0:
        raise ValueError(f"baseline + effect must be a rate in (0, 1) other than the baseline, got {p2}")
    if not 0.0 < alpha < 1.0 or not 0.0 < power < 1.0:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha} and {power}")
    a = alpha / max(1, comparisons)
    pbar = (p1 + p2) / 2.0
    root = _z(1.0 - a / 2.0) * math.sqrt(2.0 * pbar * (1.0 - pbar)) + _z(power) * math.sqrt(
        p1 * (1.0 - p1) + p2 * (1.0 - p2)
    )
    return math.ceil(root * root / (mde * mde) - 1e-9)  # the epsilon keeps an exact integer from rounding up


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (same order as given); NaN stays NaN and is not counted."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    m = len(indexed)
    out = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


@dataclass(frozen=True)
class MeanCI:
    """A mean with its t interval."""

    mean: float
    low: float
    high: float


def mean_interval(n: int, total: float, sum_sq: float, alpha: float = 0.05) -> MeanCI:
    """Mean of n values from their sum and sum of squares, with a Student t interval."""
    if n <= 0:
        return MeanCI(math.nan, math.nan, math.nan)
    mean = total / n
    if n == 1:
        return MeanCI(mean, math.nan, math.nan)
    var = max(0.0, (sum_sq - n * mean * mean) / (n - 1))
    half = float(stats.t.ppf(1.0 - alpha / 2.0, n - 1)) * math.sqrt(var / n)
    return MeanCI(mean, mean - half, mean + half)


def welch_interval(
    n_t: int, sum_t: float, sq_t: float, n_c: int, sum_c: float, sq_c: float, alpha: float = 0.05
) -> MeanCI:
    """Difference of means (treatment - control) with a Welch t interval, from sums and sums of squares."""
    if n_t < 2 or n_c < 2:
        mean = (sum_t / n_t if n_t else math.nan) - (sum_c / n_c if n_c else math.nan)
        return MeanCI(mean, math.nan, math.nan)
    m_t, m_c = sum_t / n_t, sum_c / n_c
    v_t = max(0.0, (sq_t - n_t * m_t * m_t) / (n_t - 1)) / n_t
    v_c = max(0.0, (sq_c - n_c * m_c * m_c) / (n_c - 1)) / n_c
    se2 = v_t + v_c
    if se2 <= 0.0:
        return MeanCI(m_t - m_c, m_t - m_c, m_t - m_c)
    df = se2 * se2 / (v_t * v_t / (n_t - 1) + v_c * v_c / (n_c - 1))
    half = float(stats.t.ppf(1.0 - alpha / 2.0, df)) * math.sqrt(se2)
    return MeanCI(m_t - m_c, m_t - m_c - half, m_t - m_c + half)


@dataclass(frozen=True)
class ArmSample:
    """What the verdict needs of one arm: its planned sample (n mature recipients) and successes in it."""

    n: int
    successes: int


@dataclass(frozen=True)
class VerdictResult:
    """The verdict and, once decided, the z-test of each treatment arm (Holm-adjusted)."""

    verdict: Verdict
    tests: tuple[ZTest, ...]  # one per treatment arm (arms[1:]); empty while collecting
    adjusted: tuple[float, ...]  # Holm-adjusted two-sided p-values, same order


def verdict(arms: Sequence[ArmSample], min_sample: int, alpha: float) -> VerdictResult:
    """ "collecting" until every arm has min_sample mature recipients; then significant iff any adjusted p < alpha.

    The caller passes, per arm, exactly the planned sample (its first min_sample recipients by
    touch time, all past their horizon) — testing once at the planned n keeps the error rate at alpha.
    """
    if len(arms) < 2 or any(a.n < min_sample for a in arms) or min_sample <= 0:
        return VerdictResult("collecting", (), ())
    control = arms[0]
    tests = tuple(two_proportion_ztest(a.successes, a.n, control.successes, control.n) for a in arms[1:])
    adjusted = tuple(holm_adjust([t.p_value for t in tests]))
    decided: Verdict = "significant" if any(p < alpha for p in adjusted) else "not_significant"
    return VerdictResult(decided, tests, adjusted)
