"""The composed detection engine: keyword rules + pattern detectors + the abuse classifier, per category settings."""

from __future__ import annotations

import ctypes
import platform
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any

from sqlalchemy.orm import Session

from siyu.compliance import rules_repository as repo
from siyu.compliance.contract import Detector, Finding, MessageIn, Normalised
from siyu.compliance.keywords import GlobalWhitelist, KeywordMatcher, KeywordRuleSpec
from siyu.compliance.normalise import BatchViews, normalise_many
from siyu.models.compliance import ComplianceCategory, SensitiveRule, Severity, WhitelistPhrase

_msgid = attrgetter("msgid")


@dataclass(frozen=True, slots=True)
class CategorySetting:
    """A category's switch and the severity given to findings whose detector defers to it."""

    enabled: bool = True
    severity: Severity = Severity.medium


def default_categories() -> dict[ComplianceCategory, CategorySetting]:
    """Every category enabled, with the shipped default severity."""
    from siyu.compliance.rules_service import SEVERITY_DEFAULTS

    return {c: CategorySetting(True, s) for c, s in SEVERITY_DEFAULTS.items()}


class ComplianceEngine:
    """Runs every detector over a batch; drops disabled categories; fills in category severities.

    Keyword findings carry their rule's severity (a rule created without one takes the category's
    default); the classifier is built with the abuse category's default; pattern detectors grade
    their own findings (a phone from staff is high, from a customer low). A detector whose class sets
    `defers_severity = True` has every finding's severity replaced by its category's default. The
    batch's views are built once (BatchViews) and handed to detectors that accept them (detect_views).
    """

    def __init__(
        self,
        detectors: Sequence[Detector],
        categories: Mapping[ComplianceCategory, CategorySetting] | None = None,
        *,
        keyword: KeywordMatcher | None = None,
        whitelist: GlobalWhitelist = (),
    ) -> None:
        self.detectors = list(detectors)
        self.categories = {**default_categories(), **(categories or {})}
        self.keyword = keyword
        # Non-keyword findings (a phone, an account, a link) are excused when their matched value is a
        # whitelist phrase of their category or of all: what whitelisting a dismissed incident promises.
        self.excused: dict[ComplianceCategory | None, frozenset[str]] = {}
        for phrase, category in whitelist:
            self.excused[category] = self.excused.get(category, frozenset()) | {phrase}

    def enabled(self, category: ComplianceCategory) -> bool:
        """Whether findings of this category are kept."""
        return self.categories[category].enabled

    def _excused(self, f: Finding) -> bool:
        return f.matched in self.excused.get(f.category, ()) or f.matched in self.excused.get(None, ())

    def normalise_batch(self, messages: Sequence[MessageIn]) -> list[Normalised | None]:
        """The normalised text of every message with text (None otherwise), computed once per batch."""
        with_text = [i for i, m in enumerate(messages) if m.text]
        out: list[Normalised | None] = [None] * len(messages)
        for i, n in zip(with_text, normalise_many([messages[i].text or "" for i in with_text]), strict=True):
            out[i] = n
        return out

    def detect(self, messages: Sequence[MessageIn]) -> list[Finding]:
        """Findings of every enabled category for the batch, in message order then offset."""
        if not messages:
            return []
        views = BatchViews([m.text or "" for m in messages])
        norms: list[Normalised | None] | None = None
        out: list[Finding] = []
        for detector in self.detectors:
            fast = getattr(detector, "detect_views", None)
            shared = getattr(detector, "detect_normalised", None)
            if fast is not None:
                found = fast(messages, views)
            elif shared is not None:  # a detector that wants Normalised objects (slower: one per message)
                if norms is None:
                    norms = [views.keyword_view(i) if m.text else None for i, m in enumerate(messages)]
                found = shared(messages, norms)
            else:
                found = detector.detect(messages)
            defers = getattr(detector, "defers_severity", False)
            for f in found:
                setting = self.categories[f.category]
                if not setting.enabled or (detector is not self.keyword and self._excused(f)):
                    continue
                out.append(
                    replace(f, severity=setting.severity) if defers and f.severity != setting.severity else f
                )
        if len(out) < 2:
            return out
        order = dict(zip(map(_msgid, messages), range(len(messages)), strict=True))
        out.sort(key=lambda f: (order.get(f.msgid, len(order)), f.start, f.detector, f.rule_key))
        return out


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# A batch's arrays (≈ 0.3-1.6 MB each at 2,000-5,000 messages) come from the heap, not a fresh mapping.
_ALLOCATOR_MMAP_THRESHOLD = 16 << 20
_ALLOCATOR_TRIM_THRESHOLD = 32 << 20  # free heap kept for the next batch before any is returned to the OS
_allocator_tuned = False


def keep_batch_memory() -> bool:
    """Have glibc keep freed batch-sized arrays for the next batch instead of returning them to the OS.

    Why: detecting a batch allocates and frees a few MB of NumPy arrays and joined strings. By default
    glibc returns that memory to the OS after each batch (its trim threshold follows the largest array
    freed) and every page is faulted in again by the next batch: ≈ 500 minor faults per 1,000 messages,
    measured as 1.1-2 µs of system CPU per message, more than any single detector. Process-wide and
    idempotent; a no-op (False) off glibc. Costs at most the trim threshold of retained free heap.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # pragma: no cover - no glibc symbols in this process
        return False
    # Setting either parameter turns glibc's dynamic thresholds off, so both are set.
    ok = bool(mallopt(_M_MMAP_THRESHOLD, _ALLOCATOR_MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _ALLOCATOR_TRIM_THRESHOLD)
    )
    _allocator_tuned = ok
    return ok


def rule_spec(rule: SensitiveRule) -> KeywordRuleSpec:
    """The matcher's view of a stored rule."""
    return KeywordRuleSpec(
        id=rule.id,
        category=rule.category,
        name=rule.name,
        terms=tuple(rule.terms),
        all_terms=tuple(rule.all_terms or ()),
        not_terms=tuple(rule.not_terms or ()),
        whitelist=tuple(rule.whitelist or ()),
        severity=rule.severity,
        collapse_repeats=rule.collapse_repeats,
    )


def build_engine(
    rules: Sequence[KeywordRuleSpec],
    whitelist: GlobalWhitelist = (),
    categories: Mapping[ComplianceCategory, CategorySetting] | None = None,
    pattern_settings: Any = None,
    classifier: Any = None,
) -> ComplianceEngine:
    """An engine of the keyword rules, the pattern detectors and (when given) the abuse classifier.

    classifier: an AbuseClassifier (wrapped in a ClassifierDetector at its own threshold) or a ready
    detector. Rules of disabled categories are not even put in the automaton.
    """
    keep_batch_memory()
    cats = {**default_categories(), **(categories or {})}
    live = [r for r in rules if cats[r.category].enabled]
    keyword = KeywordMatcher(live, whitelist)
    detectors: list[Detector] = [keyword]
    detectors.extend(_pattern_detectors(pattern_settings))
    if classifier is not None:
        detectors.append(_classifier_detector(classifier, cats[ComplianceCategory.abuse].severity))
    return ComplianceEngine(detectors, cats, keyword=keyword, whitelist=whitelist)


def _pattern_detectors(settings: Any) -> list[Detector]:
    try:
        from siyu.compliance.patterns import PatternDetector, PatternSettings
    except ImportError:  # pragma: no cover - C1's patterns not there yet
        return []
    return [PatternDetector(settings if settings is not None else PatternSettings())]


def _classifier_detector(classifier: Any, severity: Severity) -> Detector:
    if hasattr(classifier, "detect"):
        detector: Detector = classifier
        return detector
    from siyu.compliance.classifier import ClassifierDetector

    return ClassifierDetector(classifier, severity=severity)


_cache_lock = threading.Lock()
_cache: dict[str, tuple[repo.Fingerprint, ComplianceEngine]] = {}


def load_engine(session: Session, *, with_classifier: bool = True) -> ComplianceEngine:
    """The engine of the stored rules, whitelist and category settings, rebuilt only when they changed.

    The fingerprint (three small queries) moves on every rule, whitelist or setting write, so an edit
    takes effect on the next batch in this process without a restart.
    """
    key = f"{session.get_bind().engine.url!r}:{with_classifier}"
    fp = repo.fingerprint(session)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] == fp:
            return hit[1]
    stored = repo.category_settings(session)
    categories = {c: CategorySetting(e, s) for c, (e, s) in stored.items()}
    rules = [rule_spec(r) for r in repo.rules(session, enabled_only=True)]
    whitelist = [(w.phrase, w.category) for w in _whitelist(session)]
    classifier = _load_classifier() if with_classifier else None
    engine = build_engine(rules, whitelist, categories, classifier=classifier)
    with _cache_lock:
        _cache[key] = (fp, engine)
    return engine


def _whitelist(session: Session) -> Sequence[WhitelistPhrase]:
    return repo.whitelist(session)


def _load_classifier() -> Any:
    try:
        from siyu.compliance.classifier import AbuseClassifier

        return AbuseClassifier.load()
    except (ImportError, FileNotFoundError):  # no trained weights shipped yet: lexicon only
        return None


def clear_cache() -> None:
    """Forget every cached engine (tests, and after a bulk import outside the service)."""
    with _cache_lock:
        _cache.clear()
