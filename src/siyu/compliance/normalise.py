"""Text normalisation for detection: evasion-resistant views of a message that keep offsets into the original.

Three views, all built from one code-point table each (a NumPy array indexed by code point, built once):
- keyword view (`normalise`): full-width → half-width, case folded, traditional → simplified, every character
  that is not an ASCII letter/digit or a Han ideograph removed (symbols, emoji, punctuation, whitespace,
  zero-width and other scripts' letters used as decoration such as ღ), and the curated variants (vx → 微信 …).
- digits view (`digits_view`): the same folding, plus Chinese / financial / circled digits → ASCII, no variants.
- folded view (`fold_many`): length-preserving folding only (symbols kept), for patterns that need them
  (URLs, e-mail addresses, WeChat ids with - and _).

Batches are mapped in one pass: the texts are joined, encoded as UTF-32, looked up in the table with NumPy, and
split again, so the per-message cost is a few C-level string operations. Removed characters are first mapped to
NUL (length-preserving), the variant regex runs on that (so "new xbox" never reads as "wx": ASCII variants need a
non-letter on both sides), then NULs are dropped. Origin offsets are computed lazily, only when a finding asks.

Traditional → simplified uses OpenCC's t2s once per process to build a one-character table (only 1 → 1
conversions are kept). Phrase-level conversions (e.g. 乾隆 vs 乾燥) are out of scope: they change with context,
cost a dictionary walk per message, and the keyword lists can hold both forms where it matters.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from siyu.compliance.contract import Normalised
from siyu.compliance.normalise_data import (
    CHINESE_DIGITS,
    HAN_RANGES,
    IDEOGRAPHIC_ZERO,
    T2S_RANGES,
    TABLE_LIMIT,
    VARIANTS,
)

__all__ = [
    "SEP",
    "BatchViews",
    "CharFilter",
    "LazyOrigin",
    "collapse_repeats",
    "digits_batch",
    "digits_joined",
    "digits_view",
    "digits_view_many",
    "fold",
    "fold_joined",
    "fold_many",
    "normalise",
    "normalise_many",
]

_DELETE = 0  # removed characters become NUL first, so the views stay length-preserving until the end
SEP = _SEP = "\x01"  # joins a batch; every table maps it to itself
_Table = npt.NDArray[np.uint32]


class LazyOrigin(Sequence[int]):
    """Origin offsets computed on first use by compute(arg) (most messages never need them)."""

    __slots__ = ("_arg", "_compute", "_values")

    def __init__(self, compute: Callable[[Any], list[int]], arg: object) -> None:
        self._compute = compute
        self._arg = arg
        self._values: list[int] | None = None

    def _get(self) -> list[int]:
        if self._values is None:
            self._values = self._compute(self._arg)
            self._arg = None
        return self._values

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        return self._get()[index]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self) -> Iterator[int]:
        return iter(self._get())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyOrigin):
            return self._get() == other._get()
        if isinstance(other, list | tuple):
            return self._get() == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self._get()))

    def __repr__(self) -> str:
        return f"LazyOrigin({self._get()!r})"


class _KeptOrigin(LazyOrigin):
    """Origin offsets read straight from a batch's kept positions: origin[i] = kept[at + i] - base.

    A finding reads two entries (original_span), so single entries never build the whole list.
    """

    __slots__ = ("_at", "_base", "_kept", "_length", "_total")

    def __init__(self, kept: npt.NDArray[np.intp], at: int, length: int, base: int, total: int) -> None:
        super().__init__(self._all, None)
        self._kept, self._at, self._length, self._base, self._total = kept, at, length, base, total

    def _all(self, _: object) -> list[int]:
        origin: list[int] = (self._kept[self._at : self._at + self._length] - self._base).tolist()
        origin.append(self._total)
        return origin

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
        if isinstance(index, int) and -self._length - 1 <= index <= self._length:
            index %= self._length + 1
            return self._total if index == self._length else int(self._kept[self._at + index]) - self._base
        return self._get()[index]

    def __len__(self) -> int:
        return self._length + 1


def _is_han(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in HAN_RANGES)


def _t2s_map() -> dict[int, int]:
    """One-character traditional → simplified conversions from OpenCC (1 → 1 only)."""
    import opencc  # a product dependency; imported lazily because building the table is a one-off

    chars = [chr(cp) for lo, hi in T2S_RANGES for cp in range(lo, hi + 1)]
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # OpenCC never merges lines; fall back to per-character calls if it did
        conv = opencc.OpenCC("t2s")
        converted = [conv.convert(c) for c in chars]
    return {ord(a): ord(b) for a, b in zip(chars, converted, strict=True) if len(b) == 1 and a != b}


def _fold_char(cp: int) -> tuple[int | None, int | None]:
    """(keyword, folded) targets of a non-Han character; keyword is None when the keyword view removes it."""
    ch = chr(cp)
    category = unicodedata.category(ch)
    if category in ("Cn", "Co", "Cs"):  # unassigned, private use, surrogates
        return None, None
    nfkc = unicodedata.normalize("NFKC", ch)
    if len(nfkc) == 1:
        low = nfkc.lower()
        if len(low) == 1 and low.isascii() and low.isalnum():
            return ord(low), ord(low)
        if _is_han(ord(nfkc)) or nfkc == IDEOGRAPHIC_ZERO:
            return ord(nfkc), ord(nfkc)
        if nfkc.isascii():  # full-width punctuation → ASCII in the folded view
            return None, ord(low)
    if category[0] == "L":
        nfkd = unicodedata.normalize("NFKD", ch)
        if len(nfkd) > 1 and nfkd[0].isascii() and nfkd[0].isalpha():  # é → e
            return ord(nfkd[0].lower()), ord(nfkd[0].lower())
    elif category[0] == "N":
        digit = unicodedata.digit(ch, None)  # ①, ⑴, ⒈, ❶, superscripts, other scripts' decimal digits
        if digit is not None:
            return ord("0") + digit, ord("0") + digit
    return None, None


def _non_han_code_points() -> Iterator[int]:
    """Every code point from U+0080 below TABLE_LIMIT outside the Han blocks (compatibility ideographs included)."""
    lo = 0x80
    for start, end in HAN_RANGES:
        if start == 0xF900:  # compatibility ideographs fold through NFKC, so they are visited
            continue
        yield from range(lo, start)
        lo = end + 1
    yield from range(lo, TABLE_LIMIT)


@functools.cache
def _tables() -> tuple[_Table, _Table, _Table]:
    """(keyword, digits, folded) code-point tables, built once per process."""
    keyword = np.full(TABLE_LIMIT + 1, _DELETE, dtype=np.uint32)
    folded = np.arange(TABLE_LIMIT + 1, dtype=np.uint32)
    folded[TABLE_LIMIT] = ord(" ")  # code points beyond the tables read as a space in the folded view
    for cp in range(ord("0"), ord("9") + 1):
        keyword[cp] = cp
    for cp in range(ord("a"), ord("z") + 1):
        keyword[cp] = cp
        keyword[cp - 32] = cp
        folded[cp - 32] = cp
    for lo, hi in HAN_RANGES:
        keyword[lo : hi + 1] = np.arange(lo, hi + 1, dtype=np.uint32)
    keyword[ord(IDEOGRAPHIC_ZERO)] = ord(IDEOGRAPHIC_ZERO)
    for cp in _non_han_code_points():
        kw, fo = _fold_char(cp)
        if kw is not None:
            keyword[cp] = kw
        if fo is not None:
            folded[cp] = fo
    folded[0x3002] = ord(".")  # 。 in a URL (taobao。com)
    folded[0x3000] = ord(" ")
    simplify = np.arange(TABLE_LIMIT + 1, dtype=np.uint32)
    for src, dst in _t2s_map().items():
        simplify[src] = dst
    keyword = simplify[keyword]
    folded = simplify[folded]
    keyword[ord(_SEP)] = ord(_SEP)
    folded[ord(_SEP)] = ord(_SEP)
    keyword[0] = folded[0] = 0
    for table in (keyword, folded):  # make each table idempotent: table[table[x]] == table[x]
        while True:
            again = table[table]
            if np.array_equal(again, table):
                break
            table[:] = again
    digits = keyword.copy()
    for zh, ascii_digit in CHINESE_DIGITS.items():
        digits[keyword == ord(zh)] = ord(ascii_digit)
    for table in (keyword, digits, folded):
        table.setflags(write=False)
    return keyword, digits, folded


def _variant_regex() -> tuple[re.Pattern[str], dict[str, str]]:
    """One flat alternation of every curated form; NULs (removed characters) may sit between a form's chars.

    Flat (no groups) so that the regex engine can skip positions by the set of first characters.
    """
    alts: list[str] = []
    canon: dict[str, str] = {}
    for canonical, forms in VARIANTS.items():
        for form in forms:
            canon[form] = canonical
            first, rest = form[0], form[1:]
            part = re.escape(first)
            if first.isascii() and first.isalpha():
                part += f"(?<![a-z]{re.escape(first)})"  # after the first char keeps the prefix scan fast
            for ch in rest:
                part += "\x00*" + re.escape(ch)
            if form[-1].isascii() and form[-1].isalpha():
                part += "(?![a-z])"
            alts.append(part)
    alts.sort(key=len, reverse=True)
    return re.compile("|".join(alts)), canon


_VARIANT_RE, _CANON = _variant_regex()
_REPEAT_RE = re.compile(r"(.)\1+", re.S)


@functools.cache
def _variant_filter() -> CharFilter:
    """Texts that can hold a variant form: those holding its characters (in the keyword table's mapping)."""
    forms = [form for forms in VARIANTS.values() for form in forms]
    return CharFilter({"variants": [tuple(frozenset(ch) for ch in sorted(set(form))[:3]) for form in forms]})


def _variant_repl(match: re.Match[str]) -> str:
    return _CANON[match.group().replace("\x00", "")]


def _joined_codes(texts: Sequence[str]) -> _Table:
    """The code points of the texts joined by _SEP (a separator inside a text is blanked to a space)."""
    big = _SEP.join(texts)
    if big.count(_SEP) != len(texts) - 1:
        # a text holds the separator itself: blank it (it is a control character)
        big = _SEP.join(t.replace(_SEP, " ") for t in texts)
    return np.frombuffer(big.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _mapped_codes(texts: Sequence[str], table: _Table) -> _Table:
    """The code points of the texts joined by _SEP, each replaced through the table (length-preserving)."""
    mapped: _Table = table[np.minimum(_joined_codes(texts), TABLE_LIMIT)]
    return mapped


def _map_joined(texts: Sequence[str], table: _Table) -> str:
    """The texts joined by _SEP, each code point replaced through the table (length-preserving)."""
    return _mapped_codes(texts, table).tobytes().decode("utf-32-le")


def _map_one(text: str, table: _Table) -> str:
    codes = np.frombuffer(text.replace(_SEP, " ").encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    return table[np.minimum(codes, TABLE_LIMIT)].tobytes().decode("utf-32-le")


def _keyword_origin(text: str) -> list[int]:
    mapped = _map_one(text, _tables()[0])
    origin: list[int] = []
    pos = 0
    for match in _VARIANT_RE.finditer(mapped):
        start, end = match.span()
        origin.extend(i for i in range(pos, start) if mapped[i] != "\x00")
        width = len(_variant_repl(match))
        origin.extend([start] * (width - 1))
        origin.append(end - 1)  # the replacement's last char maps to the replaced span's last char
        pos = end
    origin.extend(i for i in range(pos, len(mapped)) if mapped[i] != "\x00")
    origin.append(len(text))
    return origin


def _digits_origin(text: str) -> list[int]:
    mapped = _map_one(text, _tables()[1])
    origin = [i for i, ch in enumerate(mapped) if ch != "\x00"]
    origin.append(len(text))
    return origin


def normalise_many(texts: Sequence[str]) -> list[Normalised]:
    """The keyword view of each text (see the module docstring); one table pass for the whole batch."""
    if not texts:
        return []
    big = _map_joined(texts, _tables()[0])
    big = _VARIANT_RE.sub(_variant_repl, big).replace("\x00", "")
    return [
        Normalised(part, LazyOrigin(_keyword_origin, text))
        for part, text in zip(big.split(_SEP), texts, strict=True)
    ]


class CharFilter:
    """Which texts of a batch can hold a match: each alternative is a tuple of character sets that a
    match must each touch (a necessary condition, never a sufficient one).

    One table lookup over the batch's (mapped) code points gives each text a bit per character set; a
    text passes a group when it has every bit of one of the group's alternatives. Up to 64 sets in all;
    a group that does not fit (or is given None) passes every text.
    """

    def __init__(self, groups: Mapping[str, Sequence[tuple[frozenset[str], ...]] | None]) -> None:
        bit_of: dict[frozenset[str], int] = {}
        wanted: dict[str, list[int] | None] = {}
        for name, alternatives in groups.items():
            masks: list[int] | None = None if alternatives is None else []
            for sets in alternatives or ():
                for chars in sets:
                    if chars not in bit_of and len(bit_of) < 64:
                        bit_of[chars] = len(bit_of)
                if masks is None or not sets or any(chars not in bit_of for chars in sets):
                    masks = None  # out of bits, or an alternative without a requirement
                    break
                masks.append(sum(1 << bit_of[chars] for chars in sets))
            wanted[name] = masks
        # The narrowest table that holds every bit: half the memory read per character when 32 do.
        dtype = np.uint32 if len(bit_of) <= 32 else np.uint64
        self.masks: dict[str, npt.NDArray[np.unsignedinteger[Any]] | None] = {
            name: None if masks is None else np.array(masks, dtype=dtype) for name, masks in wanted.items()
        }
        self.table = np.zeros(TABLE_LIMIT + 1, dtype=dtype)
        for chars, bit in bit_of.items():
            for ch in chars:
                if ord(ch) <= TABLE_LIMIT:
                    self.table[ord(ch)] |= dtype(1 << bit)

    def candidates(self, codes: _Table, starts: Sequence[int]) -> dict[str, list[int] | None]:
        """Per group, the indexes of the texts that may match (None: every text).

        codes: the batch's code points (texts joined by SEP); starts: each text's start, plus one more.
        """
        per_char = self.table[codes]
        if len(starts) > 1 and starts[-2] >= len(per_char):  # an empty last text: reduceat needs room
            per_char = np.append(per_char, per_char.dtype.type(0))
        bits = np.bitwise_or.reduceat(per_char, np.asarray(starts[:-1], dtype=np.intp))[:, None]
        out: dict[str, list[int] | None] = {}
        for name, masks in self.masks.items():
            out[name] = (
                None if masks is None else np.flatnonzero(((bits & masks) == masks).any(axis=1)).tolist()
            )
        return out


class BatchViews:
    """Every view of one batch from one UTF-32 encoding of its joined texts, each built on first use.

    The keyword view comes as plain strings (keyword_texts); a Normalised with origin offsets is made only
    for a message a finding needs it for (keyword_view), its origin taken from the batch's kept positions.
    """

    __slots__ = (
        "_codes",
        "_digits",
        "_folded",
        "_folded_codes",
        "_kept",
        "_kept_at",
        "_keyword",
        "_variant",
        "ostarts",
        "texts",
    )

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        # ostarts[i]: where text i starts in SEP.join(texts); ostarts[-1] is the joined length + 1
        self.ostarts = [0, *itertools.accumulate(len(t) + 1 for t in texts)]
        self._codes: _Table | None = None
        self._keyword: list[str] | None = None
        self._kept: npt.NDArray[np.intp] | None = None
        self._kept_at: list[int] | None = None
        self._variant: set[int] = set()
        self._folded: str | None = None
        self._folded_codes: _Table | None = None
        self._digits: tuple[str, _Table, npt.NDArray[np.intp]] | None = None

    def codes(self) -> _Table:
        """The code points of SEP.join(texts), clipped to TABLE_LIMIT (an index into every table)."""
        if self._codes is None:
            codes = _joined_codes(self.texts) if self.texts else np.zeros(0, dtype=np.uint32)
            self._codes = np.minimum(codes, TABLE_LIMIT)
        return self._codes

    def keyword_texts(self) -> list[str]:
        """The keyword view of every text (normalise(text).text), from one pass over the batch."""
        if self._keyword is None:
            if not self.texts:
                self._keyword = []
                return self._keyword
            mapped = _tables()[0][self.codes()]
            self._kept = np.flatnonzero(mapped)
            big = mapped.tobytes().decode("utf-32-le")
            # Only texts holding every character of some variant form go through the variant regex.
            maybe = _variant_filter().candidates(mapped, self.ostarts)["variants"]
            pieces: list[str] = []
            done = 0
            for i in range(len(self.texts)) if maybe is None else maybe:
                start, end = self.ostarts[i], self.ostarts[i + 1] - 1
                part = big[start:end]
                replaced = _VARIANT_RE.sub(_variant_repl, part)
                if replaced != part:
                    # a text with a variant replaced: its origin is computed the slow way
                    self._variant.add(i)
                    pieces += (big[done:start], replaced)
                    done = end
            pieces.append(big[done:])
            self._keyword = "".join(pieces).replace("\x00", "").split(_SEP)
        return self._keyword

    def keyword_view(self, index: int) -> Normalised:
        """Message index's keyword view with its origin offsets (computed when first read)."""
        text = self.keyword_texts()[index]
        if index in self._variant:
            return Normalised(text, LazyOrigin(_keyword_origin, self.texts[index]))
        kept, kept_at = self._kept_positions()
        origin = _KeptOrigin(kept, kept_at[index], len(text), self.ostarts[index], len(self.texts[index]))
        return Normalised(text, origin)

    def original_span(self, index: int, start: int, end: int) -> tuple[int, int]:
        """keyword_view(index).original_span(start, end), without building the view."""
        if index in self._variant:
            return self.keyword_view(index).original_span(start, end)
        kept, kept_at = self._kept_positions()
        at, base = kept_at[index], self.ostarts[index]
        return int(kept[at + start]) - base, int(kept[at + end - 1]) + 1 - base

    def _kept_positions(self) -> tuple[npt.NDArray[np.intp], list[int]]:
        """The keyword view's kept original positions, and where each text's first one sits among them."""
        self.keyword_texts()
        assert self._kept is not None
        if self._kept_at is None:
            self._kept_at = np.searchsorted(self._kept, self.ostarts[:-1]).tolist()
        return self._kept, self._kept_at

    def folded_codes(self) -> _Table:
        """The folded view's code points (length-preserving; SEP between texts)."""
        if self._folded_codes is None:
            self._folded_codes = _tables()[2][self.codes()]
        return self._folded_codes

    def folded(self) -> str:
        """fold_joined(texts): the folded views joined by SEP."""
        if self._folded is None:
            self._folded = self.folded_codes().tobytes().decode("utf-32-le")
        return self._folded

    def digits(self) -> tuple[str, _Table, npt.NDArray[np.intp]]:
        """digits_batch(texts): the digits views joined, their code points, and their original offsets."""
        if self._digits is None:
            mapped = _tables()[1][self.codes()]
            kept = np.flatnonzero(mapped)
            compact = mapped[kept]
            self._digits = compact.tobytes().decode("utf-32-le"), compact, kept
        return self._digits


def normalise(text: str) -> Normalised:
    """The keyword view of one text: folded, symbols removed, curated variants replaced; offsets kept."""
    return normalise_many([text])[0]


def digits_batch(texts: Sequence[str]) -> tuple[str, _Table, npt.NDArray[np.intp]]:
    """The digits views of a non-empty batch joined by SEP, their code points, and each of their characters'
    offset in SEP.join(texts): a vectorised origin for the whole batch."""
    mapped = _mapped_codes(texts, _tables()[1])
    kept = np.flatnonzero(mapped)
    compact = mapped[kept]
    return compact.tobytes().decode("utf-32-le"), compact, kept


def digits_joined(texts: Sequence[str]) -> str:
    """The digits views of a non-empty batch joined by SEP (for one regex pass over the whole batch)."""
    return _map_joined(texts, _tables()[1]).replace("\x00", "")


def digits_view_many(texts: Sequence[str]) -> list[Normalised]:
    """The digits view of each text: the keyword folding plus Chinese/financial/circled digits → ASCII."""
    if not texts:
        return []
    big = digits_joined(texts)
    return [
        Normalised(part, LazyOrigin(_digits_origin, text))
        for part, text in zip(big.split(_SEP), texts, strict=True)
    ]


def digits_view(text: str) -> Normalised:
    """The digits view of one text; separators between digits are gone (a gap in origin marks one)."""
    return digits_view_many([text])[0]


def fold_joined(texts: Sequence[str]) -> str:
    """The folded views of a non-empty batch joined by SEP; each part is as long as its text."""
    return _map_joined(texts, _tables()[2])


def fold_many(texts: Sequence[str]) -> list[str]:
    """Length-preserving folding (full-width, case, traditional, 。→ .); offsets are the original ones."""
    if not texts:
        return []
    return fold_joined(texts).split(_SEP)


def fold(text: str) -> str:
    """Length-preserving folding of one text (see fold_many)."""
    return fold_many([text])[0]


def _collapse_origin(n: Normalised) -> list[int]:
    origin = [n.origin[match.start()] for match in re.finditer(r"(.)\1*", n.text, re.S)]
    origin.append(n.origin[len(n.text)])
    return origin


def collapse_repeats(n: Normalised) -> Normalised:
    """Runs of one repeated character collapsed to one (哈哈哈 → 哈); a collapsed char maps to its run's first."""
    if _REPEAT_RE.search(n.text) is None:
        return n
    return Normalised(_REPEAT_RE.sub(r"\1", n.text), LazyOrigin(_collapse_origin, n))
