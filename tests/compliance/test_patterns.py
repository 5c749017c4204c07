"""Pattern detectors: every detector, every evasion form, the hard negatives, and exact original offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from siyu.compliance.contract import Finding, MessageIn
from siyu.compliance.patterns import PatternDetector, PatternSettings, luhn_ok
from siyu.models.compliance import ComplianceCategory, Severity

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def msg(
    text: str | None,
    *,
    msgid: str = "m1",
    sender: str = "zhangsan",
    from_staff: bool = True,
    seconds: int = 0,
    msg_type: str = "text",
    payload: dict[str, object] | None = None,
    customer_id: int | None = 7,
    group_id: int | None = None,
) -> MessageIn:
    return MessageIn(
        msgid=msgid,
        sender=sender,
        msg_type=msg_type,
        text=text,
        sent_at=T0 + timedelta(seconds=seconds),
        staff_id=3,
        customer_id=customer_id,
        group_id=group_id,
        from_staff=from_staff,
        payload=payload,
    )


def detect(text: str | None, detector: PatternDetector | None = None, **kw: object) -> list[Finding]:
    return (detector or PatternDetector()).detect([msg(text, **kw)])  # type: ignore[arg-type]


def only(findings: list[Finding], name: str) -> list[Finding]:
    return [f for f in findings if f.detector == name]


# --- phone ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "highlighted"),
    [
        ("我的电话13812345678", "13812345678"),
        ("电话 138 1234 5678 哦", "138 1234 5678"),
        ("138-1234-5678", "138-1234-5678"),
        ("打 一三八一二三四五六七八", "一三八一二三四五六七八"),
        ("幺三八 幺二三四 五六七八", "幺三八 幺二三四 五六七八"),
        ("①③⑧①②③④⑤⑥⑦⑧", "①③⑧①②③④⑤⑥⑦⑧"),
        ("１３８１２３４５６７８", "１３８１２３４５６７８"),
        ("1✿3✿8✿1✿2✿3✿4✿5✿6✿7✿8", "1✿3✿8✿1✿2✿3✿4✿5✿6✿7✿8"),
        ("壹叁捌壹贰叁肆伍陆柒捌", "壹叁捌壹贰叁肆伍陆柒捌"),
        ("138一二三四5678", "138一二三四5678"),  # mixed
        ("+86 138 1234 5678", "+86 138 1234 5678"),
        ("8613812345678", "8613812345678"),
        ("2024-01-15 13812345678 到", "13812345678"),  # a date before it does not hide it
        ("13812345678 13987654321", "13812345678"),
    ],
)
def test_phone_evasion_forms(text: str, highlighted: str) -> None:
    phones = only(detect(text), "phone")
    assert phones, text
    f = phones[0]
    assert text[f.start : f.end] == highlighted
    assert f.category is ComplianceCategory.contact
    assert f.rule_key == "phone"
    assert f.severity is Severity.high
    assert len(f.matched) == 11 and f.matched.startswith("1")


def test_two_phones_in_one_message() -> None:
    phones = only(detect("13812345678 13987654321"), "phone")
    assert [p.matched for p in phones] == ["13812345678", "13987654321"]


@pytest.mark.parametrize(
    "text",
    [
        "订单号13812345678",  # an order number that looks like a phone
        "单号：2024011513812345678",
        "快递单号 13812345678",
        "订单 138123456789012",  # a longer run
        "1381234567890",  # inside a longer digit run
        "213812345678",
        "价格138元，日期2024.01.15",
        "12345678901",  # 12 is not a mobile prefix
        "客服热线 400-820-8820",
        "今天一起一二三",
        "https://item.taobao.com/item.htm?id=13812345678",  # an id inside a link
    ],
)
def test_phone_hard_negatives(text: str) -> None:
    assert only(detect(text), "phone") == []


def test_allow_listed_number_is_not_reported() -> None:
    detector = PatternDetector(PatternSettings(allowed_numbers=frozenset({"13812345678"})))
    assert only(detect("客服电话 138-1234-5678", detector), "phone") == []
    assert only(detect("13987654321", detector), "phone")


def test_customer_phone_is_low_severity() -> None:
    (f,) = only(detect("收货电话13812345678", from_staff=False), "phone")
    assert f.severity is Severity.low


# --- split phone ---------------------------------------------------------------------------------------------


def test_phone_split_across_two_messages() -> None:
    a = msg("我电话 138 1234", msgid="a")
    b = msg("5678", msgid="b", seconds=20)
    (f,) = only(PatternDetector().detect([a, b]), "phone_split")
    assert f.msgid == "a" and f.extra_msgids == ("b",)
    assert "我电话 138 1234"[f.start : f.end] == "138 1234"
    assert f.matched == "13812345678"


def test_phone_split_across_three_messages_with_chinese_digits() -> None:
    batch = [
        msg("一三八", msgid="a"),
        msg("1234", msgid="b", seconds=5),
        msg("五六七八 记一下", msgid="c", seconds=9),
    ]
    (f,) = only(PatternDetector().detect(batch), "phone_split")
    assert (f.msgid, f.extra_msgids, f.matched) == ("a", ("b", "c"), "13812345678")


@pytest.mark.parametrize(
    "second",
    [
        msg("5678", msgid="b", seconds=600),  # too late
        msg("5678", msgid="b", seconds=5, sender="lisi", from_staff=False),  # someone else
        msg("5678", msgid="b", seconds=5, customer_id=8),  # another conversation
        msg("好的，我们明天再联系 5678", msgid="b", seconds=5),  # the digits do not continue the number
    ],
)
def test_phone_split_negatives(second: MessageIn) -> None:
    assert only(PatternDetector().detect([msg("138 1234", msgid="a"), second]), "phone_split") == []


def test_phone_split_continuation_after_a_short_lead_in() -> None:
    batch = [msg("电话前几位1783463", msgid="a"), msg("后几位3394", msgid="b", seconds=8)]
    (f,) = only(PatternDetector().detect(batch), "phone_split")
    assert (f.matched, "电话前几位1783463"[f.start : f.end], f.extra_msgids) == (
        "17834633394",
        "1783463",
        ("b",),
    )


def test_phone_split_ignores_order_number_parts() -> None:
    batch = [msg("订单号 1381234", msgid="a"), msg("5678", msgid="b", seconds=5)]
    assert only(PatternDetector().detect(batch), "phone_split") == []


def test_phone_split_needs_consecutive_messages() -> None:
    batch = [
        msg("138 1234", msgid="a"),
        msg("好的", msgid="x", seconds=3, sender="lisi", from_staff=False),
        msg("5678", msgid="b", seconds=5),
    ]
    assert only(PatternDetector().detect(batch), "phone_split") == []


def test_phone_split_order_does_not_depend_on_batch_order() -> None:
    batch = [msg("5678", msgid="b", seconds=20), msg("138 1234", msgid="a")]
    (f,) = only(PatternDetector().detect(batch), "phone_split")
    assert f.msgid == "a"


# --- WeChat ids and add-me phrases ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "wid"),
    [
        ("加我微信：abc_123", "abc_123"),
        ("我的vx: Zhang-San88", "zhang-san88"),
        ("VX：zhangsan", "zhangsan"),  # explicit separator: letters only are fine
        ("微信号 zhangsanfeng", "zhangsanfeng"),
        ("加ღ✿✿微ღ✿✿信 abc123456", "abc123456"),
        ("薇信 abc12345", "abc12345"),
        ("ＷＸ：ａｂｃ１２３", "abc123"),
        ("加我 wx88888888", "wx88888888"),
    ],
)
def test_wechat_id(text: str, wid: str) -> None:
    (f,) = only(detect(text), "wechat_id")
    assert f.matched == wid
    assert text[f.start : f.end].lower().translate(_FULL) == wid
    assert f.severity is Severity.high


_FULL = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}


@pytest.mark.parametrize(
    "text", ["微信 hello", "微信支付 payment", "可以用微信支付", "newxbox2024", "微信 ok"]
)
def test_wechat_id_negatives(text: str) -> None:
    assert only(detect(text), "wechat_id") == []


@pytest.mark.parametrize(
    ("text", "highlighted"),
    [
        ("加微信聊", "加微信"),
        ("加我微信", "加我微信"),
        ("加ღ✿✿微ღ✿✿信", "加ღ✿✿微ღ✿✿信"),
        ("加个vx吧", "加个vx"),
        ("加v", "加v"),
        ("私聊我", "私聊"),
        ("私我", "私我"),
        ("加我QQ", "加我QQ"),
    ],
)
def test_add_contact(text: str, highlighted: str) -> None:
    (f,) = only(detect(text), "add_contact")
    assert text[f.start : f.end] == highlighted
    assert f.severity is Severity.medium
    assert f.category is ComplianceCategory.contact


@pytest.mark.parametrize(
    "text", ["可以用微信支付", "支持微信支付和支付宝", "加微信支付也行", "加油", "加vip会员", "参加活动"]
)
def test_add_contact_negatives(text: str) -> None:
    assert only(detect(text), "add_contact") == []


# --- bank cards, Alipay, payment messages --------------------------------------------------------------------


def _card() -> str:
    base = "622202123456789012"
    for d in "0123456789":
        if luhn_ok(base + d):
            return base + d
    raise AssertionError


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")


def test_bank_card_with_cue_in_any_form() -> None:
    card = _card()
    spaced = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    for text, shown in [
        (f"卡号{card}", card),
        (f"转账到 {spaced} 工行", spaced),
        (f"银行卡：{spaced}", spaced),
    ]:
        (f,) = only(detect(text), "bank_card")
        assert text[f.start : f.end] == shown
        assert f.matched == card and f.category is ComplianceCategory.payment and f.severity is Severity.high
    assert only(detect(f"建行 {card}"), "phone") == []


@pytest.mark.parametrize(
    "text",
    [
        "订单号6222021234567890123 卡号",  # an order number (order cue wins)
        "卡号 6222021234567890124",  # Luhn fails
        "6222 0212 3456 7890 128",  # no cue
    ],
)
def test_bank_card_negatives(text: str) -> None:
    findings = detect(text)
    assert only(findings, "bank_card") == []
    assert only(findings, "phone") == []


def test_alipay_account_with_phone_or_email() -> None:
    text = "支付宝 138-1234-5678"
    (f,) = only(detect(text), "alipay")
    assert text[f.start : f.end] == "138-1234-5678" and f.category is ComplianceCategory.payment
    text = "zfb账号：Abc.Def@QQ.com"
    (f,) = only(detect(text), "alipay")
    assert text[f.start : f.end] == "Abc.Def@QQ.com" and f.matched == "abc.def@qq.com"


@pytest.mark.parametrize("text", ["支持支付宝付款", "支付宝和微信支付都可以", "我的邮箱 abc@qq.com"])
def test_alipay_negatives(text: str) -> None:
    assert only(detect(text), "alipay") == []


@pytest.mark.parametrize("kind", ["redpacket", "transfer", "external_redpacket"])
def test_payment_messages_by_type(kind: str) -> None:
    (f,) = only(detect(None, msg_type=kind), "payment_msg")
    assert (f.start, f.end, f.matched, f.severity) == (0, 0, kind, Severity.high)
    (f,) = only(detect(None, msg_type=kind, from_staff=False), "payment_msg")
    assert f.severity is Severity.low


def test_personal_payment_qr() -> None:
    (f,) = only(detect(None, msg_type="image", payload={"qrcode": "wxp://f2f0xyz"}), "payment_msg")
    assert f.matched == "image:qrcode"
    text = "扫这个 wxp://f2f0xyz"
    (f,) = only(detect(text), "payment_msg")
    assert text[f.start : f.end] == "wxp://"
    assert (
        only(detect(None, msg_type="image", payload={"md5sum": "abc", "filesize": 10}), "payment_msg") == []
    )


# --- links ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown", "detector"),
    [
        (
            "去 https://item.taobao.com/item.htm?id=1 看看",
            "https://item.taobao.com/item.htm?id=1",
            "shop_link",
        ),
        ("m.tb.cn/h.5abc 复制打开", "m.tb.cn/h.5abc", "shop_link"),
        ("拼多多 yangkeduo.com/goods?x=1", "yangkeduo.com/goods?x=1", "shop_link"),
        ("ＪＤ.ＣＯＭ/123", "ＪＤ.ＣＯＭ/123", "shop_link"),
        ("weidian。com/s/1", "weidian。com/s/1", "shop_link"),
        ("点 t.cn/AbCd12", "t.cn/AbCd12", "short_link"),
        ("http://dwz.cn/x1", "http://dwz.cn/x1", "short_link"),
    ],
)
def test_links(text: str, shown: str, detector: str) -> None:
    (f,) = only(detect(text), detector)
    assert text[f.start : f.end] == shown
    assert f.category is ComplianceCategory.link


@pytest.mark.parametrize("text", ["mytaobao.com", "ist.cn/abc", "t.cn", "淘宝上也有", "brand.tmall.com/x"])
def test_link_negatives(text: str) -> None:
    detector = PatternDetector(PatternSettings(allowed_domains=("brand.tmall.com",)))
    assert [f for f in detect(text, detector) if f.category is ComplianceCategory.link] == []


def test_link_message_payload() -> None:
    (f,) = only(detect(None, msg_type="link", payload={"link_url": "https://shop.youzan.com/x"}), "shop_link")
    assert (f.start, f.end) == (0, 0) and "youzan.com" in f.matched


# --- settings and batching -----------------------------------------------------------------------------------


def test_disabled_detectors_do_not_run() -> None:
    detector = PatternDetector(PatternSettings(enabled=frozenset({"shop_link"})))
    assert detect("加我微信 abc_123 电话13812345678", detector) == []


def test_findings_come_in_message_order_with_original_offsets() -> None:
    batch = [
        msg("好的，稍等", msgid="a"),
        msg("电话 13812345678", msgid="b", seconds=1),
        msg("加我微信：abc_123", msgid="c", seconds=2),
        msg(None, msgid="d", seconds=3, msg_type="redpacket"),
    ]
    findings = PatternDetector().detect(batch)
    assert [f.msgid for f in findings] == ["b", "c", "c", "d"]
    texts = {m.msgid: m.text or "" for m in batch}
    assert [texts[f.msgid][f.start : f.end] for f in findings[:3]] == ["13812345678", "加我微信", "abc_123"]
    assert PatternDetector().detect([]) == []


# --- phrases: talk on WeChat, pay me personally, order links elsewhere ---------------------------------------


@pytest.mark.parametrize(
    ("text", "highlighted"),
    [
        ("微信聊吧，这里不方便说", "微信聊"),
        ("vx聊，这边有记录", "vx聊"),
        ("我把微信给你，你加我", "微信给你"),
        ("你加我私人微信", "加我私人微信"),
        ("加一下我的微信，我给你优惠", "加一下我的微信"),
    ],
)
def test_add_contact_phrases(text: str, highlighted: str) -> None:
    (f,) = only(detect(text), "add_contact")
    assert text[f.start : f.end] == highlighted


@pytest.mark.parametrize(
    "text",
    [
        "企业微信聊就行",
        "我们企业微信联系",
        "微信支付说明",
        "他有点自私，我不喜欢",
        "保护隐私我们有规定",
        "微信聊天记录发我",
    ],
)
def test_add_contact_phrase_negatives(text: str) -> None:
    assert only(detect(text), "add_contact") == []


@pytest.mark.parametrize(
    ("text", "highlighted"),
    [
        ("转账给我吧，我替你拍", "转账给我"),
        ("这个钱你直接转✿账✿给我就好", "转✿账✿给我"),
        ("发红包到我这，我安排发货", "红包到我"),
        ("给我发个红包，我就帮你改价", "给我发个红包"),
        ("扫码付款，个人收款码，不走店里", "个人收款码"),
        ("我的收钱码在这", "我的收钱码"),
        ("直接扫我这个二维码转账", "扫我这个二维码"),
        ("付款码发你了，扫一下付款", "付款码发你"),
        ("加我微信转账就行", "微信转账"),
    ],
)
def test_payment_phrases(text: str, highlighted: str) -> None:
    (f,) = only(detect(text), "payment_msg")
    assert text[f.start : f.end] == highlighted
    assert f.category is ComplianceCategory.payment and f.severity is Severity.high


@pytest.mark.parametrize(
    "text",
    [
        "新人红包在下单页自动抵扣",
        "满199元返10元红包券，下次可用",
        "这单别在店里拍了，私下转给我",  # a private deal, not a payment channel
        "扫地机器人现在活动价199元",
        "这是我的二维码，加个好友",  # a WeChat card, not a collection code
        "可以用微信支付",
    ],
)
def test_payment_phrase_negatives(text: str) -> None:
    assert only(detect(text), "payment_msg") == []


def test_unknown_shop_link_needs_an_order_cue() -> None:
    text = "下单地址：https://tehui-store.com/p/4dua444"
    (f,) = only(detect(text), "shop_link")
    assert text[f.start : f.end] == "https://tehui-store.com/p/4dua444"
    assert only(detect("品牌故事 https://tehui-store.com/about"), "shop_link") == []
    allowed = PatternDetector(PatternSettings(allowed_domains=("tehui-store.com",)))
    assert only(detect(text, allowed), "shop_link") == []
