"""Header mapping: which file column feeds which field, from documented aliases and --map overrides."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from siyu.errors import Invalid
from siyu.models import IdentityKind, ImportKind

IGNORE = "-"


@dataclass(frozen=True)
class Field:
    """A field an import understands, with the header names it is recognised by."""

    name: str
    aliases: tuple[str, ...]
    help: str


IDENTITY_FIELDS: dict[str, IdentityKind] = {
    "phone": IdentityKind.phone,
    "member_no": IdentityKind.member_no,
    "unionid": IdentityKind.unionid,
    "miniprogram_openid": IdentityKind.miniprogram_openid,
    "wecom_external_userid": IdentityKind.wecom_external_userid,
    "telesales_id": IdentityKind.telesales_id,
}

_IDENTITY = (
    Field(
        "phone",
        ("手机号", "手机", "手机号码", "电话", "联系电话", "联系方式", "mobile", "phone_number", "tel"),
        "phone number; normalised to E.164 (+86…)",
    ),
    Field(
        "member_no", ("会员号", "会员编号", "会员卡号", "卡号", "member_id", "membership_no"), "member number"
    ),
    Field("unionid", ("union_id", "微信unionid"), "WeChat unionid"),
    Field("miniprogram_openid", ("openid", "open_id", "小程序openid", "mini_openid"), "mini-program openid"),
    Field(
        "wecom_external_userid",
        ("external_userid", "external_user_id", "外部联系人id", "企微外部联系人id", "企微客户id"),
        "WeCom external contact id",
    ),
    Field("telesales_id", ("电销编号", "电销id", "线索编号", "lead_id"), "telesales lead id"),
)

_CUSTOMER = (
    *_IDENTITY,
    Field("name", ("姓名", "客户姓名", "客户名称", "客户名", "昵称", "nickname"), "customer name"),
    Field("gender", ("性别", "sex"), "男/女 or male/female"),
    Field("city", ("城市", "所在城市", "所在地"), "city"),
    Field(
        "source",
        ("来源", "客户来源", "获客来源", "acquisition_source"),
        "telesales/order/ad/store/referral/organic/intercept or 电销/订单/广告/门店/转介绍/自然/截流",
    ),
    Field("source_detail", ("来源详情", "来源说明", "来源备注"), "free text about the source"),
    Field(
        "channel_code",
        ("渠道码", "活码", "渠道活码", "source_channel_code"),
        "channel code (活码) the customer came through",
    ),
    Field(
        "ad_campaign",
        ("广告计划", "投放计划", "广告活动", "source_ad_campaign"),
        "ad campaign the customer came from",
    ),
    Field(
        "owner_staff_code",
        (
            "归属导购",
            "负责人",
            "所属员工",
            "专属导购",
            "导购",
            "导购工号",
            "owner",
            "staff_code",
            "owner_staff",
        ),
        "staff code (or WeCom userid) of the owner",
    ),
    Field(
        "home_store_code",
        ("门店", "所属门店", "归属门店", "门店编码", "门店代码", "store_code", "home_store"),
        "code of the home store (org unit)",
    ),
    Field("member_tier", ("会员等级", "等级", "tier"), "member tier"),
    Field("points", ("积分", "积分余额", "points_balance"), "points balance (whole number)"),
    Field("marketing_opt_in", ("营销授权", "接受营销", "营销订阅", "opt_in"), "是/否, yes/no, 1/0"),
    Field("tags", ("标签", "客户标签"), "'group:tag;group:tag' or 'a,b' (group 导入)"),
    Field(
        "first_seen_at",
        ("首次时间", "创建时间", "建档时间", "注册时间", "created_at"),
        "when the brand first met the customer",
    ),
    Field(
        "wecom_joined_at",
        ("添加时间", "企微添加时间", "加好友时间", "wecom_added_at"),
        "added on WeCom (owner staff): a membership",
    ),
    Field(
        "member_joined_at", ("入会时间", "开卡时间", "member_since"), "joined the membership: a membership"
    ),
    Field(
        "miniprogram_joined_at", ("小程序授权时间", "小程序注册时间"), "joined the mini-program: a membership"
    ),
    Field(
        "official_account_joined_at",
        ("关注时间", "公众号关注时间", "subscribed_at"),
        "followed the official account: a membership",
    ),
)

_ORDER = (
    *_IDENTITY,
    Field(
        "order_no",
        ("订单号", "订单编号", "外部订单号", "单号", "order_id", "external_no", "order_number"),
        "order number (unique per order source)",
    ),
    Field(
        "paid_at",
        ("下单时间", "支付时间", "付款时间", "订单时间", "成交时间", "order_time", "paid_time"),
        "payment time",
    ),
    Field(
        "amount",
        (
            "实付金额",
            "实付",
            "支付金额",
            "订单金额",
            "付款金额",
            "成交金额",
            "paid_amount",
            "total",
            "order_amount",
        ),
        "amount paid for the order, yuan",
    ),
    Field("discount", ("优惠金额", "折扣金额", "discount_amount"), "discount, yuan"),
    Field("refund_amount", ("退款金额", "refund", "refund_fen"), "refunded amount, yuan"),
    Field("refunded_at", ("退款时间", "refund_time"), "refund time"),
    Field(
        "status",
        ("订单状态", "状态", "order_status"),
        "paid/refunded/partially_refunded or 已支付/已退款/部分退款",
    ),
    Field(
        "channel",
        ("渠道", "下单渠道", "订单渠道", "销售渠道", "order_channel"),
        "miniprogram/store/ecommerce/live or 小程序/门店/电商/直播",
    ),
    Field(
        "store_code",
        ("门店", "门店编码", "门店代码", "门店编号", "下单门店", "store"),
        "code of the store (org unit)",
    ),
    Field(
        "staff_code",
        ("导购", "导购编号", "导购工号", "员工编号", "服务导购", "staff", "guide"),
        "staff code (or WeCom userid) of the seller",
    ),
    Field("campaign_ref", ("活动", "活动编号", "营销活动", "campaign"), "campaign reference"),
    Field("coupon_ref", ("优惠券", "券码", "优惠券码", "coupon"), "coupon reference"),
    Field(
        "order_source",
        ("来源系统", "订单来源", "平台", "数据来源", "source"),
        "system the order comes from (default 'import')",
    ),
    Field("name", ("姓名", "客户姓名", "收货人", "customer_name"), "customer name, used for new customers"),
    Field("sku", ("商品编码", "商品编号", "货号", "sku_code", "product_code"), "product code of the line"),
    Field("product_name", ("商品名称", "商品", "product", "item_name"), "product name of the line"),
    Field("quantity", ("数量", "购买数量", "件数", "qty"), "quantity of the line (whole number)"),
    Field(
        "line_amount", ("商品金额", "行金额", "小计", "line_total", "item_amount"), "amount of the line, yuan"
    ),
)

_MESSAGE = (
    Field("msgid", ("消息id", "msg_id", "message_id"), "unique message id"),
    Field("sender", ("from", "发送者", "发送人", "发送方"), "staff WeCom userid/code or external contact id"),
    Field(
        "receivers", ("tolist", "to", "接收者", "接收人", "接收方"), "receivers: JSON list or comma-separated"
    ),
    Field("room_id", ("roomid", "群id", "群聊id", "chat_id"), "group chat id (empty for one-to-one chats)"),
    Field("sent_at", ("msgtime", "发送时间", "消息时间", "time"), "ms epoch or date-time"),
    Field("msg_type", ("msgtype", "消息类型", "type"), "text, image, … (default text)"),
    Field("text", ("content", "内容", "消息内容"), "message text (or a JSON object with 'content')"),
)

FIELDS: dict[ImportKind, tuple[Field, ...]] = {
    ImportKind.customers: _CUSTOMER,
    ImportKind.orders: _ORDER,
    ImportKind.messages: _MESSAGE,
}

# Each entry is a set of fields of which at least one must be present as a column.
REQUIRED: dict[ImportKind, tuple[tuple[str, ...], ...]] = {
    ImportKind.customers: (tuple(IDENTITY_FIELDS),),
    ImportKind.orders: (("order_no",), ("paid_at",), ("amount", "line_amount"), tuple(IDENTITY_FIELDS)),
    ImportKind.messages: (("msgid",), ("sender",), ("sent_at",)),
}

_UNIT_SUFFIX = re.compile(r"[(（][^()（）]*[)）]$")
_SEPARATORS = re.compile(r"[\s\-_/.]+")


def header_key(text: str) -> str:
    """Canonical form of a header for matching: width-folded, lower case, no unit suffix or separators."""
    key = unicodedata.normalize("NFKC", text).strip().lstrip("\ufeff").lower()
    key = _UNIT_SUFFIX.sub("", key).strip()  # 实付金额(元) → 实付金额
    return _SEPARATORS.sub("_", key).strip("_")


def _alias_index(kind: ImportKind) -> dict[str, str]:
    index: dict[str, str] = {}
    for spec in FIELDS[kind]:
        for text in (spec.name, *spec.aliases):
            index.setdefault(header_key(text), spec.name)
    return index


def parse_map(text: str | None) -> dict[str, str]:
    """Parse "header=field,header=field" (field '-' ignores the column) into a dict."""
    if not text or not text.strip():
        return {}
    out: dict[str, str] = {}
    for part in re.split(r"[,，;\n]", text):
        if not part.strip():
            continue
        header, sep, target = part.partition("=")
        if not sep or not header.strip() or not target.strip():
            raise Invalid(
                f"--map entry {part.strip()!r} is not 'header=field'",
                details=[
                    {"row": None, "column": part.strip(), "value": part, "reason": "expected header=field"}
                ],
            )
        out[header.strip()] = target.strip()
    return out


@dataclass(frozen=True)
class ColumnMap:
    """Which column index feeds which field, and the columns left out."""

    fields: dict[str, int]
    headers: list[str]
    ignored: list[str]

    def as_dict(self) -> dict[str, str]:
        """header → field, as recorded on the import job."""
        return {self.headers[i]: name for name, i in self.fields.items()}


def resolve_columns(
    kind: ImportKind,
    header: Sequence[str],
    overrides: dict[str, str],
    *,
    ignore_unknown: bool,
    header_line: int = 1,
) -> ColumnMap:
    """Map header columns to fields; raise Invalid listing every unknown, duplicate or missing column."""
    known = {spec.name for spec in FIELDS[kind]}
    aliases = _alias_index(kind)
    wanted = {header_key(h): f for h, f in overrides.items()}
    problems: list[dict[str, object]] = []
    for h, wanted_field in overrides.items():
        if wanted_field != IGNORE and wanted_field not in known:
            problems.append(
                {
                    "row": None,
                    "column": h,
                    "value": wanted_field,
                    "reason": f"--map names unknown field {wanted_field!r}; fields: {', '.join(sorted(known))}",
                }
            )
    present = {header_key(h) for h in header}
    for h in overrides:
        if header_key(h) not in present:
            problems.append(
                {
                    "row": None,
                    "column": h,
                    "value": None,
                    "reason": "--map names a column the file does not have",
                }
            )
    fields: dict[str, int] = {}
    ignored: list[str] = []
    unknown: list[str] = []
    for index, text in enumerate(header):
        key = header_key(text)
        if not key:
            ignored.append(f"(blank column {index + 1})")
            continue
        target = wanted.get(key) or aliases.get(key)
        if target == IGNORE:
            ignored.append(text)
        elif target is None:
            if ignore_unknown:
                ignored.append(text)
            else:
                unknown.append(text)
        elif target in fields:
            earlier = header[fields[target]]
            problems.append(
                {
                    "row": header_line,
                    "column": text,
                    "value": None,
                    "reason": f"column {earlier!r} already maps to field {target!r}",
                }
            )
        else:
            fields[target] = index
    if unknown:
        problems.append(
            {
                "row": header_line,
                "column": ", ".join(unknown),
                "value": None,
                "reason": "unknown column(s); map them with --map 'header=field' (or 'header=-' to skip) or use --ignore-unknown",
            }
        )
    for group in REQUIRED[kind]:
        if not any(name in fields for name in group):
            names = " or ".join(f"{n} ({'/'.join(_aliases_of(kind, n)[:3])})" for n in group)
            problems.append(
                {
                    "row": header_line,
                    "column": group[0],
                    "value": None,
                    "reason": f"missing required column: {names}",
                }
            )
    if problems:
        head = problems[0]
        raise Invalid(f"header: {head['column']}: {head['reason']}", details=problems)
    return ColumnMap(fields=fields, headers=list(header), ignored=ignored)


def _aliases_of(kind: ImportKind, name: str) -> tuple[str, ...]:
    for spec in FIELDS[kind]:
        if spec.name == name:
            return spec.aliases
    return ()


def describe_columns(
    kind: ImportKind, header: Sequence[str], overrides: dict[str, str], *, ignore_unknown: bool
) -> tuple[list[tuple[str, str | None, str]], list[str]]:
    """Per header (header, field, state: mapped/ignored/unknown/duplicate) and the missing required fields."""
    known = {spec.name for spec in FIELDS[kind]}
    aliases = _alias_index(kind)
    wanted = {header_key(h): f for h, f in overrides.items()}
    plan: list[tuple[str, str | None, str]] = []
    taken: set[str] = set()
    for text in header:
        key = header_key(text)
        target = (wanted.get(key) or aliases.get(key)) if key else IGNORE
        if target == IGNORE:
            plan.append((text, None, "ignored"))
        elif target is None or target not in known:
            plan.append((text, target, "ignored" if ignore_unknown and target is None else "unknown"))
        elif target in taken:
            plan.append((text, target, "duplicate"))
        else:
            taken.add(target)
            plan.append((text, target, "mapped"))
    missing = [" / ".join(group[:3]) for group in REQUIRED[kind] if not any(n in taken for n in group)]
    return plan, missing
