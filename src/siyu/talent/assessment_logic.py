"""Pure assessment rules: weighted score → 进/留/转/退 with its explanation, percentiles, and calibration."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean, pstdev
from typing import Any, TypeVar

from siyu.errors import Invalid
from siyu.models.talent import AssessmentOutcome
from siyu.talent.contract import Dimension, OutcomeThresholds, ScoredOutcome

K = TypeVar("K", bound=Hashable)
MIN_SCORE, MAX_SCORE = 1, 5
DEFAULT_OUTLIER_GAP = 0.4  # score rank and evidence percentile 40 points apart: worth a second look

OUTCOME_ZH = {
    AssessmentOutcome.promote: "进",
    AssessmentOutcome.keep: "留",
    AssessmentOutcome.transfer: "转",
    AssessmentOutcome.exit: "退",
}
OUTCOME_EN = {
    AssessmentOutcome.promote: "promote (develop)",
    AssessmentOutcome.keep: "keep",
    AssessmentOutcome.transfer: "transfer to another role",
    AssessmentOutcome.exit: "exit",
}
OUTCOME_ORDER = (
    AssessmentOutcome.promote,
    AssessmentOutcome.keep,
    AssessmentOutcome.transfer,
    AssessmentOutcome.exit,
)


# --- thresholds and outcome ----------------------------------------------------------------------------


def parse_thresholds(raw: Mapping[str, Any] | OutcomeThresholds | None) -> OutcomeThresholds:
    """Thresholds from JSON/form values (None: the defaults); strictly decreasing, each within 1..5."""
    if raw is None:
        return OutcomeThresholds()
    if isinstance(raw, OutcomeThresholds):
        raw = raw.to_dict()
    defaults = OutcomeThresholds()
    values: dict[str, float] = {}
    for name in ("promote_min", "keep_min", "transfer_min"):
        value = raw.get(name, getattr(defaults, name))
        if isinstance(value, str):
            value = value.strip()
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise Invalid(f"thresholds.{name}: {value!r} is not a number") from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise Invalid(f"thresholds.{name}: {value!r} is not a number")
        if not MIN_SCORE <= number <= MAX_SCORE:
            raise Invalid(
                f"thresholds.{name}: {number:g} is outside the score range {MIN_SCORE}..{MAX_SCORE}"
            )
        values[name] = number
    unknown = sorted(set(raw) - set(values))
    if unknown:
        raise Invalid(f"thresholds: unknown key {unknown[0]!r} (promote_min, keep_min, transfer_min)")
    if not values["promote_min"] > values["keep_min"] > values["transfer_min"]:
        raise Invalid(
            "thresholds: must decrease strictly, promote_min > keep_min > transfer_min; got "
            f"{values['promote_min']:g} / {values['keep_min']:g} / {values['transfer_min']:g}"
        )
    return OutcomeThresholds(**values)


def outcome_for(weighted: float, thresholds: OutcomeThresholds) -> AssessmentOutcome:
    """The band of an unrounded weighted score: ≥ promote_min 进, ≥ keep_min 留, ≥ transfer_min 转, else 退."""
    if weighted >= thresholds.promote_min:
        return AssessmentOutcome.promote
    if weighted >= thresholds.keep_min:
        return AssessmentOutcome.keep
    if weighted >= thresholds.transfer_min:
        return AssessmentOutcome.transfer
    return AssessmentOutcome.exit


def _check_scores(dimensions: Sequence[Dimension], scores: Mapping[str, int]) -> None:
    if not dimensions:
        raise Invalid("scores: the competency model has no dimensions")
    known = {d.code for d in dimensions}
    for code in scores:
        if code not in known:
            raise Invalid(
                f"scores.{code}: not a dimension of this competency model ({', '.join(sorted(known))})"
            )
    for d in dimensions:
        if d.code not in scores:
            raise Invalid(f"scores.{d.code}: missing; every dimension needs a score {MIN_SCORE}..{MAX_SCORE}")
        value = scores[d.code]
        if isinstance(value, bool) or not isinstance(value, int) or not MIN_SCORE <= value <= MAX_SCORE:
            raise Invalid(f"scores.{d.code}: {value!r} is not a whole score {MIN_SCORE}..{MAX_SCORE}")


def weighted_mean(dimensions: Sequence[Dimension], scores: Mapping[str, int]) -> float:
    """Σ weight × score ÷ Σ weight, unrounded (scores already checked)."""
    total = sum(d.weight for d in dimensions)
    if total <= 0:
        raise Invalid("scores: the dimensions' weights sum to 0")
    return sum(d.weight * scores[d.code] for d in dimensions) / total


def _band_text(outcome: AssessmentOutcome, t: OutcomeThresholds) -> tuple[str, str]:
    """(zh, en) description of the band the score fell in and the thresholds around it."""
    if outcome is AssessmentOutcome.promote:
        return f"不低于“进”档线 {t.promote_min:.2f}", f"at or above the promote line {t.promote_min:.2f}"
    if outcome is AssessmentOutcome.keep:
        return (
            f"不低于“留”档线 {t.keep_min:.2f}、低于“进”档线 {t.promote_min:.2f}",
            f"at or above the keep line {t.keep_min:.2f} and below the promote line {t.promote_min:.2f}",
        )
    if outcome is AssessmentOutcome.transfer:
        return (
            f"不低于“转”档线 {t.transfer_min:.2f}、低于“留”档线 {t.keep_min:.2f}",
            f"at or above the transfer line {t.transfer_min:.2f} and below the keep line {t.keep_min:.2f}",
        )
    return f"低于“转”档线 {t.transfer_min:.2f}", f"below the transfer line {t.transfer_min:.2f}"


def _extremes(dimensions: Sequence[Dimension], scores: Mapping[str, int]) -> tuple[Dimension, Dimension]:
    """Strongest and weakest dimension: by score, ties broken by the larger weight, then model order."""
    order = {d.code: n for n, d in enumerate(dimensions)}
    strongest = min(dimensions, key=lambda d: (-scores[d.code], -d.weight, order[d.code]))
    weakest = min(dimensions, key=lambda d: (scores[d.code], -d.weight, order[d.code]))
    return strongest, weakest


def score(
    dimensions: Sequence[Dimension], scores: Mapping[str, int], thresholds: OutcomeThresholds
) -> ScoredOutcome:
    """Weighted mean of the 1..5 scores by dimension weight, its band (进/留/转/退) and why, in zh and en."""
    _check_scores(dimensions, scores)
    weighted = weighted_mean(dimensions, scores)
    outcome = outcome_for(weighted, thresholds)
    band_zh, band_en = _band_text(outcome, thresholds)
    shown = round(weighted, 2)
    zh = f"加权得分 {shown:.2f}（满分 5），{band_zh}，结论为“{OUTCOME_ZH[outcome]}”。"
    en = f"Weighted score {shown:.2f} of 5, {band_en}: {OUTCOME_EN[outcome]}."
    notes: list[str] = []
    if len({scores[d.code] for d in dimensions}) == 1:
        value = scores[dimensions[0].code]
        zh += f"各维度均为 {value} 分。"
        en += f" Every dimension scored {value}."
        notes.append("uniform")
    else:
        best, worst = _extremes(dimensions, scores)
        zh += (
            f"最强维度：{best.name_zh}（{scores[best.code]} 分，权重 {best.weight}%）；"
            f"最弱维度：{worst.name_zh}（{scores[worst.code]} 分，权重 {worst.weight}%）。"
        )
        en += (
            f" Strongest: {best.name_en} ({scores[best.code]}, weight {best.weight}%);"
            f" weakest: {worst.name_en} ({scores[worst.code]}, weight {worst.weight}%)."
        )
    if shown != weighted and outcome_for(shown, thresholds) is not outcome:
        # The rounded figure would fall in another band: say so rather than look inconsistent.
        zh += f"（未取整得分 {weighted:.4f} 决定档位。）"
        en += f" (The unrounded score {weighted:.4f} decides the band.)"
        notes.append("rounding_crosses_threshold")
    return ScoredOutcome(shown, outcome, zh, en, tuple(notes))


# --- percentiles ---------------------------------------------------------------------------------------


def percentiles(values: Mapping[K, float | None], higher_is_better: bool = True) -> dict[K, float | None]:
    """Direction-adjusted percentile 0..1 (1 = best) of each defined value; ties share the average rank.

    With n defined values sorted worst → best and average rank r (1-based), the percentile is
    (r − 1) ÷ (n − 1); undefined values and groups of fewer than 2 get None.
    """
    defined = sorted(
        (((v if higher_is_better else -v), k) for k, v in values.items() if v is not None), key=lambda t: t[0]
    )
    out: dict[K, float | None] = {k: None for k in values}
    n = len(defined)
    if n < 2:
        return out
    i = 0
    while i < n:
        j = i
        while j + 1 < n and defined[j + 1][0] == defined[i][0]:
            j += 1
        rank = (i + j) / 2 + 1  # average of the 1-based ranks i+1 .. j+1
        for m in range(i, j + 1):
            out[defined[m][1]] = (rank - 1) / (n - 1)
        i = j + 1
    return out


# --- calibration ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationRow:
    """One assessment as calibration sees it (evidence_percentile = mean of the person's evidence percentiles)."""

    assessment_id: int
    staff_id: int
    staff_name: str
    unit_id: int
    team_name: str
    role_code: str
    weighted_score: float | None
    outcome: AssessmentOutcome | None
    evidence_percentile: float | None


@dataclass(frozen=True)
class Distribution:
    """Outcome counts and score statistics of a group of assessments (scored ones only in the statistics)."""

    key: int | None  # unit id of a team; None for the whole cycle
    name: str
    total: int
    counts: dict[AssessmentOutcome, int]
    pending: int  # assessments without an outcome yet
    mean: float | None
    spread: float | None  # population standard deviation of the weighted scores
    low: float | None
    high: float | None

    def share(self, outcome: AssessmentOutcome) -> float | None:
        """Share of the scored assessments with this outcome."""
        scored = self.total - self.pending
        return self.counts[outcome] / scored if scored else None


@dataclass(frozen=True)
class Outlier:
    """A person whose score rank and evidence percentile disagree by at least the gap."""

    row: CalibrationRow
    kind: str  # "score_above_evidence" | "score_below_evidence"
    score_percentile: float
    evidence_percentile: float
    gap: float  # score_percentile − evidence_percentile
    explanation_zh: str
    explanation_en: str


@dataclass(frozen=True)
class Calibration:
    """Distribution per team and overall, and the outliers between score and evidence."""

    teams: tuple[Distribution, ...]
    overall: Distribution
    outliers: tuple[Outlier, ...]
    outlier_gap: float
    score_percentiles: dict[int, float | None] = field(
        default_factory=dict
    )  # assessment id → rank percentile


def distribution(rows: Sequence[CalibrationRow], key: int | None, name: str) -> Distribution:
    """Counts per outcome, mean, spread and range of the weighted scores of rows."""
    counts = dict.fromkeys(OUTCOME_ORDER, 0)
    for r in rows:
        if r.outcome is not None:
            counts[r.outcome] += 1
    scored = [r.weighted_score for r in rows if r.weighted_score is not None and r.outcome is not None]
    return Distribution(
        key=key,
        name=name,
        total=len(rows),
        counts=counts,
        pending=sum(1 for r in rows if r.outcome is None),
        mean=round(fmean(scored), 2) if scored else None,
        spread=round(pstdev(scored), 2) if scored else None,
        low=min(scored) if scored else None,
        high=max(scored) if scored else None,
    )


def _outlier(row: CalibrationRow, sp: float, ep: float) -> Outlier:
    gap = sp - ep
    s_pct, e_pct = round(sp * 100), round(ep * 100)
    if gap > 0:
        kind = "score_above_evidence"
        zh = (
            f"{row.staff_name} 的得分 {row.weighted_score:.2f} 在本次盘点中排第 {s_pct} 百分位，"
            f"但其客观指标在同岗位同事中平均仅处第 {e_pct} 百分位：得分高、证据低，请复核是否打分偏宽。"
        )
        en = (
            f"{row.staff_name} scored {row.weighted_score:.2f} (percentile {s_pct} in this cycle), but the "
            f"evidence sits at percentile {e_pct} among same-role peers on average: scored high, evidence low — "
            "check whether the scoring was lenient."
        )
    else:
        kind = "score_below_evidence"
        zh = (
            f"{row.staff_name} 的得分 {row.weighted_score:.2f} 在本次盘点中仅排第 {s_pct} 百分位，"
            f"但其客观指标在同岗位同事中平均处第 {e_pct} 百分位：得分低、证据高，请复核是否打分偏严。"
        )
        en = (
            f"{row.staff_name} scored {row.weighted_score:.2f} (percentile {s_pct} in this cycle), but the "
            f"evidence sits at percentile {e_pct} among same-role peers on average: scored low, evidence high — "
            "check whether the scoring was harsh."
        )
    return Outlier(row, kind, sp, ep, gap, zh, en)


def calibrate(rows: Sequence[CalibrationRow], outlier_gap: float = DEFAULT_OUTLIER_GAP) -> Calibration:
    """Per-team and overall distributions, and outliers where score rank and evidence disagree by ≥ outlier_gap.

    The score rank percentile is taken among all scored rows given (the cycle): scores share one 1..5
    scale across roles, while evidence percentiles are already relative to same-role peers.
    """
    if not 0 < outlier_gap <= 1:
        raise Invalid(f"calibration: outlier gap {outlier_gap!r} must be within (0, 1]")
    teams: dict[int, list[CalibrationRow]] = {}
    for r in rows:
        teams.setdefault(r.unit_id, []).append(r)
    team_dists = sorted(
        (distribution(members, unit_id, members[0].team_name) for unit_id, members in teams.items()),
        key=lambda d: (d.name, d.key or 0),
    )
    scored = {r.assessment_id: r.weighted_score for r in rows if r.outcome is not None}
    ranks = percentiles(scored)
    outliers = []
    for r in rows:
        sp = ranks.get(r.assessment_id)
        if sp is None or r.evidence_percentile is None:
            continue
        # A hair of tolerance so a gap of exactly outlier_gap counts despite float representation.
        if abs(sp - r.evidence_percentile) >= outlier_gap - 1e-9:
            outliers.append(_outlier(r, sp, r.evidence_percentile))
    outliers.sort(key=lambda o: (-abs(o.gap), o.row.staff_name, o.row.assessment_id))
    return Calibration(
        teams=tuple(team_dists),
        overall=distribution(rows, None, ""),
        outliers=tuple(outliers),
        outlier_gap=outlier_gap,
        score_percentiles=dict(ranks),
    )


def mean_percentile(items: Sequence[float | None]) -> float | None:
    """Mean of the defined percentiles (the person's evidence percentile for calibration), None if none."""
    defined = [p for p in items if p is not None]
    return fmean(defined) if defined else None
