"""Closed vocabularies of the data model (values are stored as-is)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


class OrgUnitKind(StrEnum):
    """Levels of the org tree."""

    company = "company"
    region = "region"
    store = "store"
    department = "department"
    team = "team"


class StaffStatus(StrEnum):
    """Employment status."""

    active = "active"
    left = "left"


class IdentityKind(StrEnum):
    """Kinds of identifier that point at one person; each value is unique per kind."""

    phone = "phone"
    wecom_external_userid = "wecom_external_userid"
    unionid = "unionid"
    miniprogram_openid = "miniprogram_openid"
    member_no = "member_no"
    telesales_id = "telesales_id"


class Channel(StrEnum):
    """Private-domain channels a customer can be a member of."""

    wecom = "wecom"
    wechat_personal = "wechat_personal"
    group = "group"
    miniprogram = "miniprogram"
    member = "member"
    official_account = "official_account"


class LeaveReason(StrEnum):
    """Why a channel membership ended."""

    customer_deleted_staff = "customer_deleted_staff"
    staff_deleted_customer = "staff_deleted_customer"
    left_group = "left_group"
    removed_from_group = "removed_from_group"
    unsubscribed = "unsubscribed"
    membership_cancelled = "membership_cancelled"
    handover = "handover"
    other = "other"


class AcquisitionSource(StrEnum):
    """Where a customer first came from."""

    telesales = "telesales"
    order = "order"
    ad = "ad"
    store = "store"
    referral = "referral"
    organic = "organic"
    intercept = "intercept"


class LifecycleStage(StrEnum):
    """Lifecycle stages (生命周期)."""

    new = "new"
    active = "active"
    sleeping = "sleeping"
    lost = "lost"
    recalled = "recalled"


class OrderChannel(StrEnum):
    """Where an order was placed."""

    miniprogram = "miniprogram"
    store = "store"
    ecommerce = "ecommerce"
    live = "live"


class OrderStatus(StrEnum):
    """Payment state of an order."""

    paid = "paid"
    partially_refunded = "partially_refunded"
    refunded = "refunded"


class MessageDirection(StrEnum):
    """Who spoke in a chat message."""

    staff_to_customer = "staff_to_customer"
    customer_to_staff = "customer_to_staff"
    staff_to_group = "staff_to_group"
    customer_to_group = "customer_to_group"
    other = "other"


class TagAppliedBy(StrEnum):
    """What applied a tag."""

    staff = "staff"
    account = "account"
    import_ = "import"
    rule = "rule"
    system = "system"


class ImportKind(StrEnum):
    """What an import file holds."""

    customers = "customers"
    orders = "orders"
    messages = "messages"


class ImportStatus(StrEnum):
    """Where an import job is."""

    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class TaskStatus(StrEnum):
    """State of a staff task."""

    open = "open"
    done = "done"
    cancelled = "cancelled"


def enum_column(enum_cls: type[StrEnum], length: int = 32, name: str | None = None) -> Enum:
    """A VARCHAR + CHECK column for a StrEnum, portable across SQLite and PostgreSQL.

    name: the CHECK constraint's name part; give one when a table has two columns of the same enum
    (PostgreSQL wants constraint names unique per table).
    """
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        name=name or enum_cls.__name__.lower(),
    )
