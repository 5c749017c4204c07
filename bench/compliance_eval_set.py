"""Generate the labelled compliance evaluation set (tests/compliance/data/eval_messages.jsonl).

    .venv/bin/python bench/compliance_eval_set.py [--out PATH] [--seed 20261124]

Every text is written for this project: templates of staff↔customer service chat filled with seeded
random slots (phones, cards, ids, products, prices). One JSON object per line: id, text, msg_type,
from_staff, sender, conversation, sent_at (seconds after the set's start), labels (categories),
evasion (form or null), note. The scoring unit is the conversation: one message, or two when a
customer asks and the staff member answers, or when a phone number is split over two messages.
Labels follow the category meanings in siyu.models.compliance: "add my WeChat" in any form is
contact; personal payment channels (card, Alipay account, QR, red packet, transfer) are payment;
private_deal is dealing outside the company (私下 / 不走公司) — a message can carry several labels.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the text bank lives beside this script

import compliance_eval_texts as T

OUT = Path(__file__).resolve().parents[1] / "tests" / "compliance" / "data" / "eval_messages.jsonl"
SEED = 20261124

EVASIONS = (
    "symbols",
    "spaces",
    "dots",
    "fullwidth",
    "traditional",
    "chinese_digits",
    "yao",
    "circled_digits",
    "financial_digits",
    "homophone",
    "split",
)


@dataclass
class Conv:
    """One scoring unit: its messages as (text, msg_type, from_staff, labels), payloads by message index."""

    messages: list[tuple[str, str, bool, list[str]]]
    evasion: str | None = None
    note: str = ""
    payloads: dict[int, dict[str, object]] = field(default_factory=dict)


# ---------------------------------------------------------------- slot fillers


def phone(rng: random.Random) -> str:
    """A mainland mobile number (valid 1[3-9]x prefix)."""
    prefix = rng.choice(T.MOBILE_PREFIXES)
    return prefix + "".join(rng.choice("0123456789") for _ in range(8))


def luhn_card(rng: random.Random) -> str:
    """A Luhn-valid UnionPay-style card number (16 or 19 digits)."""
    length = rng.choice((16, 19))
    body = rng.choice(T.CARD_BINS) + "".join(rng.choice("0123456789") for _ in range(length - 7))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # doubled positions once the check digit is appended
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def group(digits: str, size: int = 4, sep: str = " ") -> str:
    """Digits in groups (how people write card numbers)."""
    return sep.join(digits[i : i + size] for i in range(0, len(digits), size))


def wechat_id(rng: random.Random) -> str:
    """A WeChat-id-like handle (starts with a letter, 6–14 chars)."""
    head = rng.choice(T.ID_WORDS)
    tail = rng.choice(("", "_", "-")) + "".join(rng.choice("0123456789") for _ in range(rng.randint(2, 6)))
    return (head + tail)[:14]


def order_no(rng: random.Random, length: int = 18) -> str:
    """An order number: digits, starting like a date so some contain a phone-like run."""
    return "2026" + "".join(rng.choice("0123456789") for _ in range(length - 4))


# ---------------------------------------------------------------- evasion transforms


def digits_to(text: str, table: str, yao: bool = False) -> str:
    """Replace ASCII digits using a 10-character table (幺 for 1 when yao)."""
    out = []
    for ch in text:
        if ch.isdigit() and ch.isascii():
            out.append("幺" if yao and ch == "1" else table[int(ch)])
        else:
            out.append(ch)
    return "".join(out)


def _mix(rng: random.Random, text: str, fillers: tuple[str, ...]) -> str:
    out = [text[0]]
    for ch in text[1:]:
        out.append(rng.choice(fillers))
        out.append(ch)
    return "".join(out)


def fullwidth(text: str) -> str:
    """ASCII letters and digits to their full-width forms."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def traditional(text: str) -> str:
    """Simplified → traditional for the characters of our templates (hand table, not OpenCC)."""
    return text.translate(T.TRAD)


def evade_number(rng: random.Random, number: str, form: str) -> str:
    """A digit string written in the given evasion form."""
    if form == "symbols":
        return _mix(rng, number, T.SYMBOL_FILLERS)
    if form == "spaces":
        return " ".join(number) if rng.random() < 0.5 else group(number, rng.choice((3, 4)))
    if form == "dots":
        return rng.choice((".", "·", "。")).join(number)
    if form == "fullwidth":
        return fullwidth(number)
    if form == "chinese_digits":
        return digits_to(number, rng.choice(("零一二三四五六七八九", "〇一二三四五六七八九")))
    if form == "yao":
        return digits_to(number, "零一二三四五六七八九", yao=True)
    if form == "circled_digits":
        return digits_to(number, "⓪①②③④⑤⑥⑦⑧⑨")
    if form == "financial_digits":
        return digits_to(number, "零壹贰叁肆伍陆柒捌玖")
    return number


def evade_word(rng: random.Random, word: str, form: str) -> str:
    """A cue word (微信, 加我微信, …) written in the given evasion form."""
    if form == "symbols":
        return _mix(rng, word, T.SYMBOL_FILLERS)
    if form == "spaces":
        return " ".join(word)
    if form == "dots":
        return ".".join(word)
    if form == "fullwidth":
        return fullwidth(word)
    if form == "traditional":
        return traditional(word)
    return word


# ---------------------------------------------------------------- conversation builders


def staff(text: str, labels: list[str], msg_type: str = "text") -> tuple[str, str, bool, list[str]]:
    """A staff message."""
    return (text, msg_type, True, labels)


def customer(text: str) -> tuple[str, str, bool, list[str]]:
    """A customer message (customers' messages are clean service questions in this set)."""
    return (text, "text", False, [])


def fill(rng: random.Random, template: str) -> str:
    """Fill the named slots of a template."""
    return template.format(
        product=rng.choice(T.PRODUCTS),
        price=rng.choice(T.PRICES),
        day=rng.randint(1, 28),
        month=rng.randint(1, 12),
        hour=rng.randint(9, 21),
        count=rng.randint(2, 9),
        order=order_no(rng, rng.choice((16, 18, 19))),
        express=rng.choice(T.EXPRESS),
        track=rng.choice(("SF", "YT", "ZTO", "JD")) + "".join(rng.choice("0123456789") for _ in range(13)),
        tail="".join(rng.choice("0123456789") for _ in range(4)),
        hotline=rng.choice(T.HOTLINES),
        name=rng.choice(T.SURNAMES),
        competitor=rng.choice(T.COMPETITORS),
        shop=rng.choice(T.SHOP_WORDS),
        code="".join(
            rng.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(7)
        ),
    )


def _unique(make: Callable[[], Conv], n: int, seen: set[tuple[str, ...]]) -> list[Conv]:
    """Up to n conversations whose texts were not produced before (templates repeat; the set should not)."""
    out: list[Conv] = []
    for _ in range(n * 20):
        conv = make()
        key = tuple(m[0] for m in conv.messages)
        if key not in seen:
            seen.add(key)
            out.append(conv)
            if len(out) == n:
                break
    return out


_SEEN: set[tuple[str, ...]] = set()


def clean(rng: random.Random) -> list[Conv]:
    """Plain service chat, some preceded by the customer's question."""

    def make() -> Conv:
        text = fill(rng, rng.choice(T.CLEAN))
        if rng.random() < 0.35:
            return Conv([customer(fill(rng, rng.choice(T.CUSTOMER))), staff(text, [])], note="service")
        return Conv([staff(text, [])], note="service")

    return _unique(make, 560, _SEEN)


def hard_negatives(rng: random.Random) -> list[Conv]:
    """Legitimate messages that look like violations."""
    out = []
    for note, templates, n in T.HARD_NEGATIVES:
        out.extend(
            _unique(
                lambda t=templates, k=note: Conv(  # type: ignore[misc]
                    [staff(fill(rng, rng.choice(t)), [])], note=f"hard negative: {k}"
                ),
                n,
                _SEEN,
            )
        )
    return out


def keyword_category(rng: random.Random, category: str, n: int) -> list[Conv]:
    """Violations of a keyword category: plain, and every fifth in an evasion form."""
    templates = T.VIOLATIONS[category]
    counter = iter(range(n * 20))

    def make() -> Conv:
        template, extra = rng.choice(templates)
        text = fill(rng, template)
        form = None
        if next(counter) % 5 == 4:  # traditional characters, or symbols / spaces inside the phrase
            form = rng.choice(("traditional", "symbols", "spaces"))
            text = traditional(text) if form == "traditional" else _evade_phrase(rng, text, form)
        return Conv([staff(text, [category, *extra])], evasion=form, note=category)

    return _unique(make, n, _SEEN)


def _evade_phrase(rng: random.Random, text: str, form: str) -> str:
    """Insert symbols / spaces inside the first run of 2–4 Chinese characters after the first one."""
    chars = [i for i, c in enumerate(text) if "\u4e00" <= c <= "\u9fff"]
    if len(chars) < 3:
        return text
    start = chars[1]
    end = min(start + 3, len(text))
    piece = text[start:end]
    evaded = _mix(rng, piece, T.SYMBOL_FILLERS) if form == "symbols" else " ".join(piece)
    return text[:start] + evaded + text[end:]


def abuse(rng: random.Random) -> list[Conv]:
    """Staff insulting customers: lexicon words, words beyond a list, and evasion forms."""
    out = []
    for text in T.ABUSE:
        out.append(Conv([staff(text, ["abuse"])], note="abuse"))
    for text, form in T.ABUSE_EVADED:
        out.append(Conv([staff(text, ["abuse"])], evasion=form, note="abuse (evaded)"))
    for _ in range(40):  # a customer's question, then the insult
        out.append(
            Conv(
                [customer(fill(rng, rng.choice(T.CUSTOMER))), staff(rng.choice(T.ABUSE), ["abuse"])],
                note="abuse after a question",
            )
        )
    return out


def contact(rng: random.Random) -> list[Conv]:
    """Phones and WeChat ids, plain and in every evasion form."""
    out = []
    for _ in range(70):
        text = rng.choice(T.PHONE_TEMPLATES).format(phone=phone(rng))
        out.append(Conv([staff(text, ["contact"])], note="phone"))
    for _ in range(40):
        text = rng.choice(T.WECHAT_TEMPLATES).format(wx=wechat_id(rng), cue="微信")
        out.append(Conv([staff(text, ["contact"])], note="wechat id"))
    for text, extra in T.ADD_WECHAT:
        out.append(Conv([staff(text, ["contact", *extra])], note="add my wechat"))
    for form in EVASIONS:
        if form in ("split",):
            continue
        for _ in range(22):
            if form == "traditional":
                text = traditional(rng.choice(T.PHONE_TEMPLATES).format(phone=phone(rng)))
            elif form == "homophone":
                cue = rng.choice(T.HOMOPHONE_CUES)
                text = rng.choice(T.WECHAT_TEMPLATES).format(wx=wechat_id(rng), cue=cue)
            else:
                text = rng.choice(T.PHONE_TEMPLATES).format(phone=evade_number(rng, phone(rng), form))
            out.append(
                Conv(
                    [staff(text, ["contact"])],
                    evasion=form,
                    note="phone" if form != "homophone" else "wechat id",
                )
            )
        if form in ("symbols", "spaces", "dots", "fullwidth", "traditional"):
            for _ in range(8):  # the cue word itself evaded: 加ღ✿微ღ信 + id
                cue = evade_word(rng, "微信", form)
                text = rng.choice(T.WECHAT_TEMPLATES).format(wx=wechat_id(rng), cue=cue)
                out.append(Conv([staff(text, ["contact"])], evasion=form, note="wechat id, cue evaded"))
    for _ in range(30):  # one number over two consecutive messages from the same staff member
        number = phone(rng)
        cut = rng.randint(3, 7)
        first, second = rng.choice(T.SPLIT_TEMPLATES)
        out.append(
            Conv(
                [
                    staff(first.format(part=number[:cut]), ["contact"]),
                    staff(second.format(part=number[cut:]), ["contact"]),
                ],
                evasion="split",
                note="phone split across two messages",
            )
        )
    return out


def payment(rng: random.Random) -> list[Conv]:
    """Bank cards, Alipay accounts, QR codes, red packets and transfers."""
    out = []
    for _ in range(50):
        card = luhn_card(rng)
        written = group(card) if rng.random() < 0.6 else card
        template, extra = rng.choice(T.CARD_TEMPLATES)
        out.append(Conv([staff(template.format(card=written), ["payment", *extra])], note="bank card"))
    for _ in range(16):
        card = luhn_card(rng)
        form = rng.choice(("chinese_digits", "fullwidth", "spaces"))
        template, extra = rng.choice(T.CARD_TEMPLATES)
        text = template.format(card=evade_number(rng, card, form))
        out.append(Conv([staff(text, ["payment", *extra])], evasion=form, note="bank card (evaded)"))
    for _ in range(36):
        template, extra = rng.choice(T.ALIPAY_TEMPLATES)
        if rng.random() < 0.5:
            account, labels = rng.choice(T.ID_WORDS) + str(rng.randint(10, 9999)) + rng.choice(T.MAIL), []
        else:
            account, labels = phone(rng), ["contact"]
        cue = "zfb" if "{cue}" in template and rng.random() < 0.4 else "支付宝"
        text = template.format(account=account, cue=cue)
        out.append(
            Conv(
                [staff(text, ["payment", *extra, *labels])],
                evasion="homophone" if cue == "zfb" else None,
                note="alipay account",
            )
        )
    for template, extra in T.QR_TEXTS:
        out.append(Conv([staff(template, ["payment", *extra])], note="personal payment qr"))
    for _ in range(20):
        amount = rng.choice((8.88, 66, 88, 100, 168, 200, 520))
        c = Conv([staff("", ["payment"], "redpacket")], note="red packet")
        c.payloads[0] = {
            "redpacket": {"type": 1, "wish": "恭喜发财", "totalcnt": 1, "totalamount": int(amount * 100)}
        }
        out.append(c)
    for _ in range(15):
        c = Conv([staff("", ["payment"], "transfer")], note="transfer")
        c.payloads[0] = {"transfer": {"amount": rng.choice((5000, 12000, 38000)), "memo": ""}}
        out.append(c)
    return out


def links(rng: random.Random) -> list[Conv]:
    """Links to other shops and short links."""
    out = []
    for _ in range(60):
        template, extra = rng.choice(T.LINK_TEMPLATES)
        out.append(Conv([staff(fill(rng, template), ["link", *extra])], note="link"))
    return out


BUILDERS: tuple[Callable[[random.Random], list[Conv]], ...] = (
    clean,
    hard_negatives,
    abuse,
    lambda rng: keyword_category(rng, "private_deal", 70),
    lambda rng: keyword_category(rng, "diverted_order", 70),
    lambda rng: keyword_category(rng, "forbidden_promise", 70),
    lambda rng: keyword_category(rng, "competitor", 60),
    contact,
    payment,
    links,
)


def generate(seed: int = SEED) -> list[dict[str, object]]:
    """Every message of the set, conversations shuffled, ids and times assigned in order."""
    rng = random.Random(seed)
    _SEEN.clear()
    convs: list[Conv] = []
    for build in BUILDERS:
        convs.extend(build(rng))
    rng.shuffle(convs)
    rows: list[dict[str, object]] = []
    clock = 0
    for ci, conv in enumerate(convs, start=1):
        staff_id = f"staff{1 + ci % 12:02d}"
        customer_id = f"wm_cust{ci:05d}"
        for mi, (text, msg_type, from_staff, labels) in enumerate(conv.messages):
            clock += rng.randint(5, 40)
            rows.append(
                {
                    "id": f"ev{len(rows) + 1:05d}",
                    "text": text,
                    "msg_type": msg_type,
                    "from_staff": from_staff,
                    "sender": staff_id if from_staff else customer_id,
                    "conversation": f"c{ci:05d}",
                    "sent_at": clock,
                    "labels": sorted(set(labels)),
                    "evasion": conv.evasion if from_staff else None,
                    "note": conv.note,
                    **({"payload": conv.payloads[mi]} if mi in conv.payloads else {}),
                }
            )
    return rows


HOLDOUT_OUT = OUT.with_name("eval_holdout.jsonl")


def holdout() -> list[dict[str, object]]:
    """The held-out set: hand-written lines, one conversation each (the split phone is one pair)."""
    rows: list[dict[str, object]] = []
    conv = 0
    for i, (text, labels, form) in enumerate(T.HOLDOUT):
        if not (form == "split" and rows and rows[-1]["evasion"] == "split" and text.startswith("后")):
            conv += 1
        rows.append(
            {
                "id": f"ho{i + 1:04d}",
                "text": text,
                "msg_type": "text",
                "from_staff": True,
                "sender": f"staff{1 + conv % 12:02d}",
                "conversation": f"h{conv:04d}",
                "sent_at": 30 * (i + 1),
                "labels": sorted(labels),
                "evasion": form,
                "note": "holdout",
            }
        )
    return rows


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Write the JSONL (and the held-out set beside it)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args(argv)
    rows = generate(args.seed)
    _write(args.out, rows)
    _write(HOLDOUT_OUT, holdout())
    print(f"{len(rows)} messages, {len({r['conversation'] for r in rows})} conversations → {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
