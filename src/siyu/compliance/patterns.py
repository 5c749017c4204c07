"""Pattern detectors: phone numbers, WeChat ids, add-me phrases, bank cards, Alipay accounts, payment messages, links.

Works per batch: each view of the whole batch is built in one table pass, every regex runs once over the joined
batch, and per-message Python work happens only around a candidate. Numbers come from the digits view
(patterns_numbers); cues, ids, e-mail addresses and URLs from the folded view, which is as long as the original
(its offsets are the original ones). Regexes are written so that the engine can skip by a literal first
character (a WeChat id is found first, then its cue is looked for just before it).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from re import _constants as _sc  # type: ignore[attr-defined]
from re import _parser as _sp  # type: ignore[attr-defined]
from typing import Any

from siyu.compliance.contract import Finding, MessageIn
from siyu.compliance.normalise import SEP, BatchViews, CharFilter
from siyu.compliance.normalise_data import VARIANTS
from siyu.compliance.patterns_numbers import Hit, NumberOptions, luhn_ok, scan_numbers
from siyu.models.compliance import ComplianceCategory, Severity

__all__ = ["DETECTORS", "PatternDetector", "PatternSettings", "luhn_ok"]

DETECTORS = (
    "phone",
    "phone_split",
    "wechat_id",
    "add_contact",
    "bank_card",
    "alipay",
    "payment_msg",
    "shop_link",
    "short_link",
)

DEFAULT_SHOP_DOMAINS = (
    "taobao.com",
    "tmall.com",
    "tb.cn",
    "jd.com",
    "3.cn",
    "jd.hk",
    "pinduoduo.com",
    "yangkeduo.com",
    "weidian.com",
    "youzan.com",
    "youzanyun.com",
    "koudaitong.com",
    "jinritemai.com",
    "kwaixiaodian.com",
    "xiaohongshu.com",
    "xhslink.com",
    "vip.com",
    "suning.com",
    "1688.com",
    "dangdang.com",
)
DEFAULT_SHORT_DOMAINS = (
    "t.cn",
    "dwz.cn",
    "url.cn",
    "suo.im",
    "suo.nz",
    "sohu.gg",
    "bit.ly",
    "tinyurl.com",
    "is.gd",
    "t.co",
    "w.url.cn",
    "mrw.so",
    "uee.me",
)
PAYMENT_MSG_TYPES = frozenset({"redpacket", "external_redpacket", "transfer"})


@dataclass(frozen=True, slots=True)
class PatternSettings:
    """What the pattern detectors allow and look for (sensible defaults for a brand without configuration)."""

    allowed_numbers: frozenset[str] = frozenset()  # digits only: the brand hotline, the service mobile …
    allowed_domains: tuple[str, ...] = ()  # the brand's own shops and sites (a subdomain counts)
    shop_domains: tuple[str, ...] = DEFAULT_SHOP_DOMAINS
    short_link_domains: tuple[str, ...] = DEFAULT_SHORT_DOMAINS
    split_gap_seconds: int = 120  # a number split over two messages of one sender within this gap
    enabled: frozenset[str] = frozenset(DETECTORS)
    cue_window: int = 16  # characters between a bank / Alipay cue and the number or account
    customer_severity: Severity = Severity.low  # customers share their own phone for delivery: lower severity


# --- regexes over the folded view -----------------------------------------------------------------------

_HAN = "\u3007\u3400-\u9fff\uf900-\ufaff"
_JUNK = f"[^a-z0-9{_HAN}\x01]"  # what the keyword view removes (symbols, spaces, emoji, decoration letters)
_GAP = f"{_JUNK}{{0,4}}"


def _loose(phrase: str) -> str:
    """A regex for phrase that tolerates up to four removed characters between its characters (微ღ✿信).

    A phrase starting or ending with an ASCII letter must not touch another letter (no "wx" in "newxbox"); the
    look-behind sits after the first character so the regex engine can still skip by first characters.
    """
    first = re.escape(phrase[0])
    body = first
    if phrase[0].isascii() and phrase[0].isalpha():
        body += f"(?<![a-z]{first})"
    for ch in phrase[1:]:
        body += _GAP + re.escape(ch)
    if phrase[-1].isascii() and phrase[-1].isalpha():
        body += "(?![a-z])"
    return body


def _loose_any(phrases: Iterable[str]) -> str:
    return "|".join(_loose(p) for p in sorted(set(phrases), key=len, reverse=True))


_WECHAT_WORDS = ("微信", *VARIANTS["微信"])
_ALIPAY_WORDS = ("支付宝", *VARIANTS["支付宝"])
_CONTACT_WORDS = (*_WECHAT_WORDS, "qq", "扣扣", "企鹅号")

# A WeChat id (6-20 chars, a letter first); its cue is then looked for right before it.
_ID_RE = re.compile(r"[a-z](?<![-_a-z0-9][a-z])[-_a-z0-9]{5,19}(?![-_a-z0-9])")
_ID_CUE_RE = re.compile(
    rf"(?P<cue>(?:{_loose_any(_WECHAT_WORDS)})(?:号|id)?|加我)(?P<sep>{_GAP}(?:是|为|号|id|:)?{_GAP})$"
)
_NOT_IDS = frozenset({"wechat", "weixin"})
_EXPLICIT_SEP_RE = re.compile(r"[:是为号]|id")
_CONTACT_ANY = f"(?:{_loose_any(_CONTACT_WORDS)}|v(?![a-z]))"
_ADD_TAIL = rf"(?:{_GAP}(?:我|个|一下|下|的|私人|自己)){{0,4}}{_GAP}{_CONTACT_ANY}(?!{_GAP}支付)"  # 加微信支付 is paying
_TALK = (
    rf"(?:{_GAP}号)?{_GAP}(?:上{_GAP})?"
    rf"(?:聊(?!{_GAP}天)|细{_GAP}聊|说|沟{_GAP}通|联{_GAP}系|给{_GAP}你|发{_GAP}你|推{_GAP}你)"  # not 微信聊天(记录)
)
# Flat alternatives, each starting with a literal, so the engine skips by their first characters: 加微信 …,
# and 微信聊吧 / vx聊 / 微信给你 / 微信发你 (a contact word, then talk there or hand it over).
_ADD_CONTACT_RE = re.compile(
    "|".join(
        [
            rf"加{_ADD_TAIL}",
            rf"添{_GAP}加{_ADD_TAIL}",
            rf"联{_GAP}系{_ADD_TAIL}",
            rf"私(?<![自隐无]私){_GAP}(?:聊|我|信{_GAP}我)",  # not 自私，我 / 隐私
            *(_loose(word) + _TALK for word in sorted(set(_CONTACT_WORDS), key=len, reverse=True)),
        ]
    )
)
# Personal payment asked for in words: transfer to me, a red packet to me, my (personal) collection QR code.
_PAYQR = rf"(?:收{_GAP}款{_GAP}码|收{_GAP}钱{_GAP}码|付{_GAP}款{_GAP}码)"
_QR = rf"(?:{_PAYQR}|二{_GAP}维{_GAP}码)"  # a bare 二维码 of mine may be a WeChat card (contact), so only with 扫我 / 个人
_PAY_PHRASE_RE = re.compile(
    r"wxp://|qr\.alipay\.com|payapp\.weixin\.qq\.com|"  # a payment QR's content pasted as text
    rf"转{_GAP}账{_GAP}(?:给|到){_GAP}我"
    rf"|微{_GAP}信{_GAP}转{_GAP}账(?!{_GAP}(?:给|到){_GAP}(?:店|公司|门店|官方))"
    rf"|红{_GAP}包{_GAP}(?:发{_GAP})?(?:给|到){_GAP}我"
    rf"|给{_GAP}我{_GAP}发{_GAP}(?:个{_GAP})?红{_GAP}包"
    rf"|个{_GAP}人{_GAP}{_QR}|私{_GAP}人{_GAP}{_QR}"
    rf"|我{_GAP}(?:的{_GAP})?{_PAYQR}"
    rf"|扫{_GAP}我{_GAP}(?:这{_GAP}个{_GAP}|的{_GAP}|个{_GAP}人{_GAP})?{_QR}"
    rf"|发{_GAP}你{_GAP}{_PAYQR}"
    rf"|收{_GAP}款{_GAP}码{_GAP}发{_GAP}你|收{_GAP}钱{_GAP}码{_GAP}发{_GAP}你|付{_GAP}款{_GAP}码{_GAP}发{_GAP}你"
)
# A link to order somewhere that is neither a watched nor an allowed domain: flagged when an order cue precedes it.
_URL_RE = re.compile(r"(?:https?://|www\.)[a-z0-9.-]+\.[a-z]{2,}(?::\d+)?(?:/[!#-~]*)?")
_ORDER_LINK_CUE_RE = re.compile(r"(?:下单|购买|拍|店|商城|买|链接|地址)[^\x01]{0,6}$")
_ALIPAY_CUE_RE = re.compile(_loose_any(_ALIPAY_WORDS))
_EMAIL_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,40}@[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_PAY_QR_PAYLOAD_RE = re.compile(r"wxp://|qr\.alipay\.com|payapp\.weixin\.qq\.com|收款码|qrcode")
_HOST_TAIL_RE = re.compile(r"[a-z0-9-][a-z0-9.-]*$")
_PATH_RE = re.compile(r"(?::\d+)?/[!#-~]*")


def _tld_regex(domains: Iterable[str]) -> re.Pattern[str]:
    """Finds a dot and a top-level domain of the watched domains (a literal '.' lets the engine skip fast)."""
    tlds = sorted({d.rsplit(".", 1)[-1] for d in domains if "." in d}, key=len, reverse=True)
    if not tlds:
        return re.compile(r"(?!x)x")
    return re.compile(r"\.(?:" + "|".join(re.escape(t) for t in tlds) + r")(?![a-z0-9-])")


# --- prefilter: which messages can hold a match at all --------------------------------------------------
# Derived from each regex's parse tree, so it follows any edit of the regexes: every match must contain a
# character of each of (up to) two mandatory character sets of one of its top-level alternatives. One table
# lookup over the batch's folded code points gives each message a bit per set; messages failing every
# alternative skip the regex (most clean chat). The condition is necessary, never sufficient: the regex
# still decides, on the surviving messages only.

_Pair = tuple[frozenset[str], ...]
_NEEDS = 3  # sets per alternative: more sets, fewer false candidates (64 sets in all fit the bit table)
_REPEATS = (_sc.MAX_REPEAT, _sc.MIN_REPEAT, getattr(_sc, "POSSESSIVE_REPEAT", _sc.MAX_REPEAT))


def _item_chars(op: object, av: Any) -> frozenset[str] | None:
    """The characters one of which any match of this parsed item contains (None: no such small set)."""
    if op is _sc.LITERAL:
        return frozenset(chr(av))
    if op is _sc.IN:
        chars: set[str] = set()
        for kind, arg in av:
            if kind is _sc.LITERAL:
                chars.add(chr(arg))
            elif kind is _sc.RANGE and arg[1] - arg[0] < 64:
                chars.update(map(chr, range(arg[0], arg[1] + 1)))
            else:  # negated sets, categories, wide ranges
                return None
        return frozenset(chars)
    if op in _REPEATS:
        return _smallest(av[2]) if av[0] >= 1 else None
    if op is _sc.SUBPATTERN:
        return _smallest(av[-1])
    if op is _sc.BRANCH:
        union: set[str] = set()
        for branch in av[1]:
            found = _smallest(branch)
            if found is None:
                return None
            union |= found
        return frozenset(union)
    return None  # lookarounds, anchors, any character …


def _needs(seq: Any) -> list[frozenset[str]]:
    """The (up to) _NEEDS smallest character sets that a match of the parsed sequence must each touch."""
    sets = [c for c in (_item_chars(op, av) for op, av in seq) if c is not None]
    return sorted(sets, key=len)[:_NEEDS]


def _smallest(seq: Any) -> frozenset[str] | None:
    needs = _needs(seq)
    return needs[0] if needs else None


def _requirement(pattern: re.Pattern[str]) -> list[_Pair] | None:
    """Per top-level alternative, the sets a match must touch (None when some alternative has none)."""
    if pattern.flags & re.IGNORECASE:
        return None
    try:
        tree = list(_sp.parse(pattern.pattern, pattern.flags))
    except Exception:  # a private parser: no prefilter rather than a wrong one
        return None
    branches = tree[0][1][1] if len(tree) == 1 and tree[0][0] is _sc.BRANCH else [tree]
    pairs = [tuple(_needs(b)) for b in branches]
    return None if any(not p for p in pairs) else pairs


def _prefilter(groups: Mapping[str, Sequence[re.Pattern[str]]]) -> CharFilter:
    """A CharFilter of each group's regexes (a group without a requirement runs on every message)."""
    wanted: dict[str, list[tuple[frozenset[str], ...]] | None] = {}
    for name, patterns in groups.items():
        alternatives: list[tuple[frozenset[str], ...]] | None = []
        for pattern in patterns:
            pairs = _requirement(pattern)
            alternatives = None if pairs is None or alternatives is None else alternatives + pairs
        wanted[name] = alternatives
    return CharFilter(wanted)


@dataclass(slots=True)
class _Folded:
    """The folded views of (some of) a batch's messages joined by SEP, and where each starts in it."""

    text: str
    starts: list[int]
    index: Sequence[int] | None = None  # the batch index of each part (None: part i is message i)

    def locate(self, pos: int) -> tuple[int, int]:
        """(batch message index, offset in that message) of a position in text."""
        part = bisect.bisect_right(self.starts, pos) - 1
        return (part if self.index is None else self.index[part]), pos - self.starts[part]

    def part_end(self, pos: int) -> int:
        """Where the part holding pos ends in text."""
        return self.starts[bisect.bisect_right(self.starts, pos)] - 1

    @classmethod
    def of(cls, texts: Sequence[str], index: Sequence[int] | None = None) -> _Folded:
        """The folded parts joined, with their starts."""
        return cls(SEP.join(texts), [0, *itertools.accumulate(len(t) + 1 for t in texts)], index)


class PatternDetector:
    """Contact, payment and link findings for a batch of messages (implements the Detector protocol)."""

    def __init__(self, settings: PatternSettings | None = None, *, prefilter: bool = True) -> None:
        self.settings = s = settings or PatternSettings()
        self._allowed_domains = tuple(d.lower().strip(".") for d in s.allowed_domains)
        self._shop = tuple(d.lower() for d in s.shop_domains)
        self._short = tuple(d.lower() for d in s.short_link_domains)
        self._tld_re = _tld_regex((*self._shop, *self._short))
        on = s.enabled
        self._numbers = NumberOptions(
            phones=bool(on & {"phone", "alipay"}),
            split="phone_split" in on,
            cards="bank_card" in on,
            allowed_numbers=frozenset(s.allowed_numbers),
            cue_window=s.cue_window,
            split_gap=timedelta(seconds=s.split_gap_seconds),
        )
        self.prefilter = prefilter
        self._prefilter = _prefilter(
            {
                "wechat_id": [_ID_RE],
                "add_contact": [_ADD_CONTACT_RE],
                "alipay": [_ALIPAY_CUE_RE],
                "links": [self._tld_re, _URL_RE],
                "payment_msg": [_PAY_PHRASE_RE],
            }
        )

    def detect(self, messages: Sequence[MessageIn]) -> list[Finding]:
        """Findings for the batch, in message order."""
        return self.detect_views(messages, BatchViews([m.text or "" for m in messages]))

    def detect_views(self, messages: Sequence[MessageIn], views: BatchViews) -> list[Finding]:
        """Findings for the batch from the engine's shared views (views.texts are the messages' texts)."""
        if not messages:
            return []
        on = self.settings.enabled
        texts = views.texts
        hits: list[Hit] = []
        if on & {"phone", "phone_split", "bank_card", "alipay"}:
            hits += scan_numbers(messages, texts, self._numbers, views.digits(), views.ostarts)
        picks = self._prefilter.candidates(views.folded_codes(), views.ostarts) if self.prefilter else {}
        whole = _Folded(views.folded(), views.ostarts)
        parts: list[str] | None = None

        def folded(group: str) -> _Folded | None:
            nonlocal parts
            index = picks.get(group)
            if index is None:
                return whole
            if not index:
                return None
            if parts is None:
                parts = whole.text.split(SEP)
            return _Folded.of([parts[i] for i in index], index)

        if "wechat_id" in on and (view := folded("wechat_id")) is not None:
            hits += self._wechat_ids(view)
        if "add_contact" in on and (view := folded("add_contact")) is not None:
            hits += self._add_contact(view)
        if "alipay" in on and (view := folded("alipay")) is not None:
            hits += self._alipay(view, hits)
        # messages judged by their type or archive payload rather than their text (one pass)
        special = [i for i, m in enumerate(messages) if m.payload or m.msg_type in PAYMENT_MSG_TYPES]
        if on & {"shop_link", "short_link"}:
            hits += self._links(folded("links"), messages, special)
        if "payment_msg" in on:
            hits += self._payment_msgs(folded("payment_msg"), messages, special)
        hits = [h for h in hits if h.detector in on]
        hits.sort(key=lambda h: (h.msg, h.start, h.detector))
        return [self._finding(messages, h) for h in hits]

    # -- findings -----------------------------------------------------------------------------------------
    _CATEGORY = {
        "phone": ComplianceCategory.contact,
        "phone_split": ComplianceCategory.contact,
        "wechat_id": ComplianceCategory.contact,
        "add_contact": ComplianceCategory.contact,
        "bank_card": ComplianceCategory.payment,
        "alipay": ComplianceCategory.payment,
        "payment_msg": ComplianceCategory.payment,
        "shop_link": ComplianceCategory.link,
        "short_link": ComplianceCategory.link,
    }
    _STAFF_SEVERITY = {
        "add_contact": Severity.medium,
        "shop_link": Severity.medium,
        "short_link": Severity.medium,
    }

    def _finding(self, messages: Sequence[MessageIn], hit: Hit) -> Finding:
        message = messages[hit.msg]
        severity = self._STAFF_SEVERITY.get(hit.detector, Severity.high)
        return Finding(
            msgid=message.msgid,
            category=self._CATEGORY[hit.detector],
            detector=hit.detector,
            severity=severity if message.from_staff else self.settings.customer_severity,
            start=hit.start,
            end=hit.end,
            matched=hit.matched,
            rule_key=hit.detector,
            extra_msgids=tuple(messages[i].msgid for i in hit.extra),
        )

    # -- cues in the folded view --------------------------------------------------------------------------
    def _wechat_ids(self, folded: _Folded) -> list[Hit]:
        hits: list[Hit] = []
        for match in _ID_RE.finditer(folded.text):
            wid = match.group()
            if wid in _NOT_IDS:
                continue
            cue = _ID_CUE_RE.search(folded.text, max(0, match.start() - 24), match.start())
            if cue is None:
                continue
            explicit = cue.group("cue").endswith(("号", "id")) or _EXPLICIT_SEP_RE.search(cue.group("sep"))
            if not explicit and not re.search(r"[\d_-]", wid):  # a bare English word after 微信 is not an id
                continue
            index, local = folded.locate(match.start())
            hits.append(Hit(index, "wechat_id", local, local + len(wid), wid))
        return hits

    def _add_contact(self, folded: _Folded) -> list[Hit]:
        hits: list[Hit] = []
        for match in _ADD_CONTACT_RE.finditer(folded.text):
            if folded.text.endswith("企业", 0, match.start()):
                continue  # 企业微信聊 is the company channel
            index, local = folded.locate(match.start())
            matched = re.sub(_JUNK, "", match.group())
            hits.append(Hit(index, "add_contact", local, local + len(match.group()), matched))
        return hits

    def _alipay(self, folded: _Folded, found: list[Hit]) -> list[Hit]:
        """支付宝 (or zfb …) followed within the cue window by a phone number or an e-mail address."""
        hits: list[Hit] = []
        window = self.settings.cue_window
        phones: dict[int, list[Hit]] = {}
        for h in found:
            if h.detector == "phone":
                phones.setdefault(h.msg, []).append(h)
        for match in _ALIPAY_CUE_RE.finditer(folded.text):
            index, local = folded.locate(match.start())
            cue_end = local + len(match.group())
            account = next(
                (h for h in phones.get(index, ()) if cue_end <= h.start <= cue_end + window),
                None,
            )
            if account is not None:
                hits.append(Hit(index, "alipay", account.start, account.end, account.matched))
                continue
            base = match.start() - local  # where the message starts in folded.text
            email = _EMAIL_RE.search(folded.text, base + cue_end, folded.part_end(match.start()))
            if email is not None and email.start() - base <= cue_end + window:
                hits.append(Hit(index, "alipay", email.start() - base, email.end() - base, email.group()))
        return hits

    # -- links and message types --------------------------------------------------------------------------
    def _classify(self, host: str) -> str | None:
        def under(domains: tuple[str, ...]) -> bool:
            return any(host == d or host.endswith("." + d) for d in domains)

        if under(self._allowed_domains):
            return None
        if under(self._shop):
            return "shop_link"
        if under(self._short):
            return "short_link"
        return None

    def _link_hits(
        self, text: str, lo: int = 0, hi: int | None = None
    ) -> Iterable[tuple[int, int, str, str]]:
        """(start, end, url, detector) for each shop or short link in text[lo:hi] (a folded text)."""
        hi = len(text) if hi is None else hi
        for match in self._tld_re.finditer(text, lo, hi):
            host_match = _HOST_TAIL_RE.search(text, max(lo, match.start() - 80), match.start())
            if host_match is None:
                continue
            host_start = host_match.start()
            host = text[host_start : match.end()]
            detector = self._classify(host.lstrip(".-"))
            path = _PATH_RE.match(text, match.end(), hi)
            if detector is None or (detector == "short_link" and path is None):
                continue  # a short-link domain without a path links nowhere
            start = host_start
            for scheme in ("https://", "http://"):
                if text.startswith(scheme, max(lo, host_start - len(scheme)), host_start):
                    start = host_start - len(scheme)
            end = path.end() if path else match.end()
            yield start, end, text[start:end], detector

    def _links(self, folded: _Folded | None, messages: Sequence[MessageIn], special: list[int]) -> list[Hit]:
        hits: list[Hit] = []
        seen: set[int] = set()
        for index in special:
            message = messages[index]
            if message.payload and message.text is None:
                for value in _payload_strings(message.payload):
                    for _, _, url, detector in self._link_hits(value.lower()):
                        hits.append(Hit(index, detector, 0, 0, url))
        if folded is None:
            return hits
        for start, end, url, detector in self._link_hits(folded.text):
            index, local = folded.locate(start)
            hits.append(Hit(index, detector, local, local + end - start, url))
            seen.add(start)
        for match in _URL_RE.finditer(folded.text):
            host = match.group().split("://")[-1].split("/")[0].split(":")[0]
            if any(match.start() <= x < match.end() for x in seen) or self._classify(host) is not None:
                continue
            if any(host == d or host.endswith("." + d) for d in self._allowed_domains):
                continue
            if _ORDER_LINK_CUE_RE.search(folded.text, max(0, match.start() - 12), match.start()):
                index, local = folded.locate(match.start())
                hits.append(Hit(index, "shop_link", local, local + len(match.group()), match.group()))
        return hits

    def _payment_msgs(
        self, folded: _Folded | None, messages: Sequence[MessageIn], special: list[int]
    ) -> list[Hit]:
        hits: list[Hit] = []
        for index in special:
            message = messages[index]
            if message.msg_type in PAYMENT_MSG_TYPES:
                hits.append(Hit(index, "payment_msg", 0, 0, message.msg_type))
            elif message.payload and (
                message.payload.get("qrcode")
                or any(_PAY_QR_PAYLOAD_RE.search(v.lower()) for v in _payload_strings(message.payload))
            ):
                hits.append(Hit(index, "payment_msg", 0, 0, f"{message.msg_type}:qrcode"))
        if folded is None:
            return hits
        for match in _PAY_PHRASE_RE.finditer(folded.text):
            index, local = folded.locate(match.start())
            hits.append(
                Hit(
                    index,
                    "payment_msg",
                    local,
                    local + len(match.group()),
                    re.sub(_JUNK, "", match.group()),
                )
            )
        return hits


def _payload_strings(payload: Mapping[str, object], depth: int = 0) -> list[str]:
    """Every string value in a (nested) archive payload."""
    out: list[str] = []
    for value in payload.values():
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, Mapping) and depth < 3:
            out += _payload_strings(value, depth + 1)
    return out
