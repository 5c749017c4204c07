"""Display labels (gettext msgids) for every code the console shows; templates use the `label` filter."""

from __future__ import annotations

from enum import StrEnum

from siyu.web.i18n import N_

# One table per code family, keyed by the enum's class name (or a plain name for free-text codes).
LABELS: dict[str, dict[str, str]] = {
    "PermissionRole": {
        "admin": N_("Administrator"),
        "private_domain_lead": N_("Private-domain lead"),
        "manager": N_("Manager"),
        "operator": N_("Operator"),
        "guide": N_("Guide"),
        "analyst": N_("Analyst"),
    },
    "DataScope": {
        "self": N_("Own customers"),
        "unit": N_("Own unit"),
        "subtree": N_("Unit and below"),
        "all": N_("Everything"),
    },
    "Channel": {
        "wecom": N_("WeCom"),
        "wechat_personal": N_("Personal WeChat"),
        "group": N_("Groups"),
        "miniprogram": N_("Mini-program"),
        "member": N_("Members"),
        "official_account": N_("Official account"),
    },
    "AcquisitionSource": {
        "telesales": N_("Telesales"),
        "order": N_("Order"),
        "ad": N_("Advertising"),
        "store": N_("Store"),
        "referral": N_("Referral"),
        "organic": N_("Organic"),
        "intercept": N_("Intercept"),
    },
    "LifecycleStage": {
        "new": N_("New"),
        "active": N_("Active"),
        "sleeping": N_("Sleeping"),
        "lost": N_("Lost"),
        "recalled": N_("Recalled"),
    },
    "LeaveReason": {
        "customer_deleted_staff": N_("Customer deleted the staff member"),
        "staff_deleted_customer": N_("Staff member deleted the customer"),
        "left_group": N_("Left the group"),
        "removed_from_group": N_("Removed from the group"),
        "unsubscribed": N_("Unsubscribed"),
        "membership_cancelled": N_("Membership cancelled"),
        "handover": N_("Handed over to another staff member"),
        "other": N_("Other"),
    },
    "IdentityKind": {
        "phone": N_("Phone"),
        "wecom_external_userid": N_("WeCom external user ID"),
        "unionid": N_("WeChat UnionID"),
        "miniprogram_openid": N_("Mini-program OpenID"),
        "member_no": N_("Member number"),
        "telesales_id": N_("Telesales ID"),
    },
    "OrderChannel": {
        "miniprogram": N_("Mini-program"),
        "store": N_("Store"),
        "ecommerce": N_("E-commerce"),
        "live": N_("Live streaming"),
    },
    "OrderStatus": {
        "paid": N_("Paid"),
        "partially_refunded": N_("Partially refunded"),
        "refunded": N_("Refunded"),
    },
    "MessageDirection": {
        "staff_to_customer": N_("Staff → customer"),
        "customer_to_staff": N_("Customer → staff"),
        "staff_to_group": N_("Staff → group"),
        "customer_to_group": N_("Customer → group"),
        "other": N_("Other"),
    },
    "TaskStatus": {"open": N_("Open"), "done": N_("Done"), "cancelled": N_("Cancelled")},
    "ImportKind": {"customers": N_("Customers"), "orders": N_("Orders"), "messages": N_("Messages")},
    "ImportStatus": {
        "pending": N_("pending"),
        "running": N_("running"),
        "succeeded": N_("succeeded"),
        "failed": N_("failed"),
    },
    # WeCom archive message types (free text in the data: unknown ones are shown as they come).
    "msg_type": {
        "text": N_("[text]"),
        "image": N_("[image]"),
        "voice": N_("[voice]"),
        "video": N_("[video]"),
        "emotion": N_("[sticker]"),
        "file": N_("[file]"),
        "link": N_("[link]"),
        "location": N_("[location]"),
        "card": N_("[contact card]"),
        "weapp": N_("[mini-program card]"),
        "redpacket": N_("[red packet]"),
    },
}


def label_msgid(value: object, kind: str | None = None) -> str | None:
    """The msgid for value (a StrEnum member, or a code of table kind), or None when it has none."""
    if value is None:
        return None
    table = LABELS.get(kind or type(value).__name__)
    if table is None:
        return None
    return table.get(value.value if isinstance(value, StrEnum) else str(value))


def choices(kind: str) -> list[tuple[str, str]]:
    """(code, msgid) pairs of a table, for select options."""
    return list(LABELS[kind].items())
