"""Keyword rules: one Aho-Corasick automaton (ahocorasick-rs) over every phrase of every enabled rule.

Rule terms, AND terms, NOT terms and whitelist phrases are normalised with the same normalise()
the messages go through, so 加ღ✿✿微ღ✿✿信 in a message meets the term 加微信. A batch is matched in
one call: the normalised texts are joined with NUL (which normalise never emits and no phrase may
contain), so the per-call cost is paid once per batch, not per message.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import ahocorasick_rs
import numpy as np
import numpy.typing as npt

from siyu.compliance.contract import Finding, MessageIn, Normalised
from siyu.compliance.normalise import BatchViews, collapse_repeats, normalise_many
from siyu.compliance.normalise_data import TABLE_LIMIT
from siyu.models.compliance import ComplianceCategory, Severity

DETECTOR = "keyword"
SEPARATOR = "\x00"
_TERM, _ALL, _NOT, _WHITE = 0, 1, 2, 3


def collapse_joined(joined: str) -> str:
    """Runs of one character collapsed to one (as normalise.collapse_repeats), over a NUL-joined batch.

    Vectorised: a backreference regex costs ~6 µs per 40-character message, this a fraction of one.
    """
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    if len(codes) < 2:
        return joined
    keep = np.ones(len(codes), dtype=bool)
    keep[:-1] = codes[:-1] != codes[1:]  # drop a character its successor repeats: the run's last stays
    keep |= codes == 0  # separators always stay (two meet around an empty text)
    return codes[keep].tobytes().decode("utf-32-le")


GlobalWhitelist = Sequence[tuple[str, ComplianceCategory | None]]


@dataclass(frozen=True, slots=True)
class KeywordRuleSpec:
    """A rule as the matcher sees it: any of terms, AND every all_terms, NOT any not_terms, in one message."""

    id: int
    category: ComplianceCategory
    name: str
    terms: tuple[str, ...]
    all_terms: tuple[str, ...] = ()
    not_terms: tuple[str, ...] = ()
    whitelist: tuple[str, ...] = ()
    severity: Severity = Severity.medium
    collapse_repeats: bool = False


def normalise_phrases(phrases: Sequence[str], *, collapse: bool = False) -> list[str]:
    """Rule phrases in the form messages are matched in ('' when nothing is left), in one batch."""
    unique = list(dict.fromkeys(phrases))
    if not unique:
        return []
    texts = [n.text.replace(SEPARATOR, "") for n in normalise_many(unique)]
    if collapse:
        texts = collapse_joined(SEPARATOR.join(texts)).split(SEPARATOR)
    form = dict(zip(unique, texts, strict=True))
    return [form[p] for p in phrases]


def normalise_phrase(phrase: str, *, collapse: bool = False) -> str:
    """One rule phrase in the form messages are matched in ('' when nothing is left)."""
    return normalise_phrases([phrase], collapse=collapse)[0]


# What a phrase means to one rule: (rule index, kind, category). Rule index -1 is a global whitelist
# phrase, its category None meaning every category. Plain tuples: one shared per rule and kind, so
# 200,000 terms do not build 200,000 objects.
_Role = tuple[int, int, ComplianceCategory | None]


class _Automaton:
    """The phrases of a set of rules (in one view: plain or repeat-collapsed) and what each one means."""

    def __init__(
        self,
        rules: Sequence[tuple[int, KeywordRuleSpec]],
        global_whitelist: GlobalWhitelist,
        *,
        collapse: bool,
    ) -> None:
        raw: list[tuple[str, _Role]] = []
        for ri, rule in rules:
            for kind, phrases in (
                (_TERM, rule.terms),
                (_ALL, rule.all_terms),
                (_NOT, rule.not_terms),
                (_WHITE, rule.whitelist),
            ):
                role: _Role = (ri, kind, None)
                raw.extend((t, role) for t in phrases)
        if rules:
            raw.extend((p, (-1, _WHITE, c)) for p, c in global_whitelist)
        forms = normalise_phrases([p for p, _ in raw], collapse=collapse)
        index: dict[str, int] = {}
        self.roles: list[list[_Role]] = []
        all_ids: dict[int, set[int]] = {ri: set() for ri, _ in rules}
        not_ids: dict[int, set[int]] = {ri: set() for ri, _ in rules}
        for (_, role), text in zip(raw, forms, strict=True):
            if not text:
                continue
            pid = index.setdefault(text, len(index))
            if pid == len(self.roles):
                self.roles.append([])
            self.roles[pid].append(role)
            if role[1] == _ALL:
                all_ids[role[0]].add(pid)
            elif role[1] == _NOT:
                not_ids[role[0]].add(pid)
        # Per rule index: the phrase ids of its AND and NOT terms.
        self.all_ids = {ri: frozenset(ids) for ri, ids in all_ids.items()}
        self.not_ids = {ri: frozenset(ids) for ri, ids in not_ids.items()}
        # Per phrase: the rules it is a plain term of, when that is all it means (no AND / NOT / whitelist
        # role, and none of those rules has AND terms); None otherwise. A message whose matches are all
        # such phrases needs no AND / NOT / whitelist logic: no NOT term or whitelist phrase of any rule
        # is among them, so each rule fires at its first span.
        self.simple: list[tuple[int, ...] | None] = [
            tuple(dict.fromkeys(r[0] for r in roles))
            if all(r[1] == _TERM and not self.all_ids[r[0]] for r in roles)
            else None
            for roles in self.roles
        ]
        self.phrases = list(index)
        # Phrases that are some rule's term: a message whose matches are all whitelist/AND/NOT phrases fires nothing.
        self.is_term = [any(r[1] == _TERM for r in roles) for roles in self.roles]
        self.term_mask = np.array(self.is_term, dtype=bool)
        self.codes = _two_byte_table(self.phrases)
        # Which characters some phrase holds (None when the two-byte table could not be built).
        self.in_phrase = None if self.codes is None else self.codes != 0x8000
        self.automaton: ahocorasick_rs.AhoCorasick | ahocorasick_rs.BytesAhoCorasick | None = None
        if self.phrases and self.codes is not None:
            codes = self.codes
            self.automaton = ahocorasick_rs.BytesAhoCorasick(
                _encode_many(codes, self.phrases), matchkind=ahocorasick_rs.MatchKind.Standard
            )
        elif self.phrases:
            self.automaton = ahocorasick_rs.AhoCorasick(
                self.phrases, matchkind=ahocorasick_rs.MatchKind.Standard
            )

    def hits(self, texts: Sequence[str], *, with_term: bool = False) -> dict[int, list[tuple[int, int, int]]]:
        """Per text index: the (phrase id, start, end) of every (overlapping) match, in character offsets.

        with_term: only the texts where some match is a rule's term (the others cannot fire a rule).
        """
        if self.automaton is None or not texts:
            return {}
        joined = SEPARATOR.join(texts)
        if self.codes is not None:
            found = self.automaton.find_matches_as_indexes(_encode(self.codes, joined), overlapping=True)  # type: ignore[arg-type]
        else:
            found = self.automaton.find_matches_as_indexes(joined, overlapping=True)  # type: ignore[arg-type]
        if not found:
            return {}
        # starts[i] is the offset of text i in the joined batch (each text is followed by one NUL).
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        starts = np.concatenate(([0], np.cumsum(lengths + 1)))
        matches = np.array(found, dtype=np.int64).reshape(-1, 3)
        if self.codes is not None:
            matches[:, 1:] //= 2  # two bytes per character
        where = np.searchsorted(starts, matches[:, 1], side="right") - 1
        if with_term:
            keep = np.isin(where, where[self.term_mask[matches[:, 0]]])
            matches, where = matches[keep], where[keep]
        if not len(where):
            return {}
        matches[:, 1:] -= starts[where][:, None]
        # Group by text with slices of one list of tuples (a stable sort keeps each text's match order).
        order = np.argsort(where, kind="stable")
        where, matches = where[order], matches[order]
        cut = np.flatnonzero(where[1:] != where[:-1]) + 1
        bounds = np.concatenate(([0], cut, [len(where)])).tolist()
        rows: list[tuple[int, int, int]] = list(map(tuple, matches.tolist()))  # type: ignore[arg-type]
        return {
            i: rows[lo:hi]
            for i, lo, hi in zip(where[bounds[:-1]].tolist(), bounds[:-1], bounds[1:], strict=True)
        }


def repeat_indexes(texts: Sequence[str], relevant: npt.NDArray[np.bool_] | None = None) -> list[int]:
    """The indexes of the texts holding a run of one repeated character (those collapsing changes).

    relevant: a code-point table; only runs of characters it marks count (None: every character).
    """
    if not texts:
        return []
    codes = np.frombuffer(SEPARATOR.join(texts).encode("utf-32-le"), dtype=np.uint32)
    at = np.flatnonzero((codes[:-1] == codes[1:]) & (codes[:-1] != 0))
    if relevant is not None and len(at):
        at = at[relevant[np.minimum(codes[at], TABLE_LIMIT)]]
    if not len(at):
        return []
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    starts = np.cumsum(lengths + 1) - lengths - 1
    return np.unique(np.searchsorted(starts, at, side="right") - 1).tolist()


def _two_byte_table(phrases: Sequence[str]) -> npt.NDArray[np.uint16] | None:
    """A code-point table giving each character of the phrases its own two-byte code (None: too many).

    The automaton then reads two bytes per character instead of UTF-8's three for Han, and a match's byte
    offsets halve into character offsets. First bytes are 0x80-0xFF and second bytes 0x00-0x7F, so a
    phrase can never match across a character boundary; every character in no phrase (and the separator)
    shares code 0, which no phrase holds.
    """
    chars = sorted({ch for p in phrases for ch in p})
    if len(chars) >= 1 << 14 or any(ord(ch) >= TABLE_LIMIT for ch in chars):
        return None
    table = np.full(TABLE_LIMIT + 1, 0x8000, dtype=">u2")
    for k, ch in enumerate(chars, start=1):
        table[ord(ch)] = ((0x80 | (k >> 7)) << 8) | (k & 0x7F)
    return table


def _encode_many(table: npt.NDArray[np.uint16], texts: Sequence[str]) -> list[bytes]:
    """Each text in the two-byte code, from one encoding of them all."""
    joined = _encode(table, SEPARATOR.join(texts))
    ends = itertools.accumulate(2 * len(t) + 2 for t in texts)
    return [joined[end - 2 * len(t) - 2 : end - 2] for t, end in zip(texts, ends, strict=True)]


def _encode(table: npt.NDArray[np.uint16], text: str) -> bytes:
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return table[np.minimum(codes, TABLE_LIMIT)].tobytes()


def _inside(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    return any(ws <= start and end <= we for ws, we in spans)


class KeywordMatcher:
    """Detector of keyword rules: one finding per (rule, first non-whitelisted matching span) per message."""

    def __init__(
        self,
        rules: Sequence[KeywordRuleSpec],
        global_whitelist: GlobalWhitelist = (),
        *,
        staff_only: bool = True,
    ) -> None:
        self.rules = list(rules)
        self.staff_only = staff_only
        indexed = list(enumerate(self.rules))
        self.plain = _Automaton(indexed, global_whitelist, collapse=False)
        collapsing = [(i, r) for i, r in indexed if r.collapse_repeats]
        self.collapsed = _Automaton(collapsing, global_whitelist, collapse=True) if collapsing else None
        own = [p for _, r in collapsing for p in (*r.terms, *r.all_terms, *r.not_terms, *r.whitelist)]
        self.collapse_changes_phrases = normalise_phrases(own) != normalise_phrases(own, collapse=True)

    @property
    def phrase_count(self) -> int:
        """Distinct normalised phrases in the automata (terms, AND/NOT terms, whitelist phrases)."""
        return len(self.plain.phrases) + (len(self.collapsed.phrases) if self.collapsed else 0)

    def judged(self, message: MessageIn) -> bool:
        """Whether the matcher reads this message (text, and from staff unless staff_only is off)."""
        return bool(message.text) and (message.from_staff or not self.staff_only)

    def detect(self, messages: Sequence[MessageIn]) -> list[Finding]:
        """Findings for the batch, in message order."""
        return self.detect_views(messages, BatchViews([m.text or "" for m in messages]))

    def detect_normalised(
        self, messages: Sequence[MessageIn], normalised: Sequence[Normalised | None]
    ) -> list[Finding]:
        """Findings for the batch whose texts the caller already normalised (None: not judged)."""
        anyone = not self.staff_only
        picked = [
            (m, n)
            for m, n in zip(messages, normalised, strict=True)
            if n is not None and m.text and (anyone or m.from_staff)
        ]
        return self._detect(
            [m for m, _ in picked],
            [n.text for _, n in picked],
            lambda i: picked[i][1],
            lambda i, start, end: picked[i][1].original_span(start, end),
        )

    def detect_views(self, messages: Sequence[MessageIn], views: BatchViews) -> list[Finding]:
        """Findings for the batch from the engine's shared views (views.texts are the messages' texts)."""
        anyone = not self.staff_only
        index = [i for i, m in enumerate(messages) if m.text and (anyone or m.from_staff)]
        if not index:
            return []
        keyword = views.keyword_texts()
        if len(index) == len(messages):  # every message judged (a staff-only batch): no copies
            return self._detect(messages, keyword, views.keyword_view, views.original_span)
        return self._detect(
            [messages[i] for i in index],
            [keyword[i] for i in index],
            lambda j: views.keyword_view(index[j]),
            lambda j, start, end: views.original_span(index[j], start, end),
        )

    def _detect(
        self,
        picked: Sequence[MessageIn],
        texts: Sequence[str],
        view: Callable[[int], Normalised],
        span: Callable[[int, int, int], tuple[int, int]],
    ) -> list[Finding]:
        """Findings for the judged messages, given their keyword-view texts.

        view(i) (text i's Normalised) and span(i, start, end) (original_span of its keyword view) are only
        asked on a hit.
        """
        if not picked:
            return []
        per_message: dict[int, dict[int, Finding]] = {}
        # with_term: every text returned has a term among its matches
        for i, hits in self.plain.hits(texts, with_term=True).items():
            per_message[i] = dict(self._evaluate(self.plain, picked[i], functools.partial(span, i), hits))
        if self.collapsed is not None:
            # A text without repeats reads the same in both views; it needs the collapsed automaton
            # only when collapsing changed some rule phrase (then that phrase may match it there only).
            # Nor does a run of a character no collapsed-automaton phrase holds matter: every character
            # of a match is a phrase character and a collapsed run stays one character, so around every
            # collapsed-view match the text is unchanged and the plain view (which wins) matched it too.
            subset = (
                range(len(texts))
                if self.collapse_changes_phrases
                else repeat_indexes(texts, self.collapsed.in_phrase)
            )
            # One vectorised pass over those texts; origin maps only for messages that matched.
            collapsed = collapse_joined(SEPARATOR.join([texts[i] for i in subset])).split(SEPARATOR)
            for j, hits in self.collapsed.hits(collapsed, with_term=True).items():
                i = subset[j]
                if not any(self.collapsed.is_term[h[0]] for h in hits):
                    continue
                norm = view(i)
                collapsed_view = collapse_repeats(norm)
                if collapsed_view.text != collapsed[j]:  # pragma: no cover - normalise's collapse changed
                    continue
                fired = per_message.setdefault(i, {})
                for ri, finding in self._evaluate(
                    self.collapsed, picked[i], collapsed_view.original_span, hits
                ):
                    fired.setdefault(ri, finding)  # the plain view wins over the collapsed one
        findings: list[Finding] = []
        for i in sorted(per_message):
            ordered = list(per_message[i].values())
            if len(ordered) > 1:
                ordered.sort(key=lambda f: (f.start, f.rule_id or 0))
            findings += ordered
        return findings

    def _evaluate(
        self,
        automaton: _Automaton,
        message: MessageIn,
        span: Callable[[int, int], tuple[int, int]],
        hits: list[tuple[int, int, int]],
    ) -> list[tuple[int, Finding]]:
        """(rule index, finding) of each rule firing in one message; plain terms only take the short way."""
        simple = automaton.simple
        first: dict[int, tuple[int, int, int]] = {}  # rule index → its first (start, end, phrase id)
        for pid, start, end in hits:
            rules = simple[pid]
            if rules is None:
                return self._evaluate_rules(automaton, message, span, hits)
            for ri in rules:
                seen = first.get(ri)
                if seen is None or (start, end, pid) < seen:
                    first[ri] = (start, end, pid)
        return [(ri, self._finding(automaton, ri, message, span, *at)) for ri, at in first.items()]

    def _finding(
        self,
        automaton: _Automaton,
        ri: int,
        message: MessageIn,
        span: Callable[[int, int], tuple[int, int]],
        start: int,
        end: int,
        pid: int,
    ) -> Finding:
        """The finding of rule ri at its phrase pid's span in message (original offsets)."""
        rule = self.rules[ri]
        ostart, oend = span(start, end)
        return Finding(
            msgid=message.msgid,
            category=rule.category,
            detector=DETECTOR,
            severity=rule.severity,
            start=ostart,
            end=oend,
            matched=automaton.phrases[pid],
            rule_id=rule.id,
            rule_key=str(rule.id),
        )

    def _evaluate_rules(
        self,
        automaton: _Automaton,
        message: MessageIn,
        span: Callable[[int, int], tuple[int, int]],
        hits: list[tuple[int, int, int]],
    ) -> list[tuple[int, Finding]]:
        """The full rule logic: AND / NOT terms, rule and global whitelist spans, first unexcused span."""
        term_hits: dict[int, list[tuple[int, int, int]]] = {}
        present: set[int] = set()
        rule_white: dict[int, list[tuple[int, int]]] = {}
        global_white: dict[ComplianceCategory | None, list[tuple[int, int]]] = {}
        for pid, start, end in hits:
            present.add(pid)
            for rule_index, kind, category in automaton.roles[pid]:
                if kind == _TERM:
                    term_hits.setdefault(rule_index, []).append((start, end, pid))
                elif kind == _WHITE:
                    if rule_index >= 0:
                        rule_white.setdefault(rule_index, []).append((start, end))
                    else:
                        global_white.setdefault(category, []).append((start, end))
        out: list[tuple[int, Finding]] = []
        for ri, spans in term_hits.items():
            if not automaton.all_ids[ri] <= present or automaton.not_ids[ri] & present:
                continue
            rule = self.rules[ri]
            excuses = (
                rule_white.get(ri, []) + global_white.get(rule.category, []) + global_white.get(None, [])
            )
            for start, end, pid in sorted(spans):
                if excuses and _inside(start, end, excuses):
                    continue
                out.append((ri, self._finding(automaton, ri, message, span, start, end, pid)))
                break
        return out
