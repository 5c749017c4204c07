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
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
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


def _variant_repl(match: re.Match[str]) -> str:
    return _CANON[match.group().replace("\x00", "")]


def _mapped_codes(texts: Sequence[str], table: _Table) -> _Table:
    """The code points of the texts joined by _SEP, each replaced through the table (length-preserving)."""
    big = _SEP.join(texts)
    if big.count(_SEP) != len(texts) - 1:
        # a text holds the separator itself: blank it (it is a control character)
        big = _SEP.join(t.replace(_SEP, " ") for t in texts)
    codes = np.frombuffer(big.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    mapped: _Table = table[np.minimum(codes, TABLE_LIMIT)]
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
