"""Phone normalisation to E.164, identity resolution and customer merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from siyu.customers.identity import (
    IdentityResolver,
    mask_phone,
    merge_customers,
    normalise_identity,
    normalise_phone,
)
from siyu.db.engine import session_factory
from siyu.models import (
    AcquisitionSource,
    Channel,
    ChannelMembership,
    ChatMessage,
    Customer,
    CustomerIdentity,
    CustomerInsight,
    CustomerTag,
    Event,
    IdentityKind,
    InsightRun,
    MessageDirection,
    Order,
    OrderChannel,
    OrderLine,
    OrgUnit,
    OrgUnitKind,
    Referral,
    Staff,
    StaffTask,
    StoreVisit,
    Tag,
    TagAppliedBy,
    TagGroup,
)

T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "86-13812345678",
        "8613812345678",
        "0086 138 1234 5678",
        "(+86) 138.1234.5678",
        "１３８１２３４５６７８",
        "＋８６ １３８－１２３４－５６７８",
        " 13812345678 ",
    ],
)
def test_chinese_mobile_spellings(text: str) -> None:
    assert normalise_phone(text) == "+8613812345678"


def test_other_numbers() -> None:
    assert normalise_phone("010-12345678") == "+861012345678"
    assert normalise_phone("+1 650-253-0000") == "+16502530000"
    assert normalise_phone("+44 20 7946 0958") == "+442079460958"


@pytest.mark.parametrize(
    "text",
    ["", "abc", "12345", "1381234567", "138123456789", "12812345678", "+86 140 1234 5678", "138x1234x5678"],
)
def test_not_phones(text: str) -> None:
    with pytest.raises(ValueError):
        normalise_phone(text)


mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


def _library(digits: str) -> str | None:
    try:
        number = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None  # the library rejects some unassigned prefixes outright
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@settings(max_examples=300)
@given(mobiles)
def test_fast_path_agrees_with_phonenumbers(digits: str) -> None:
    try:
        ours: str | None = normalise_phone(digits)
    except ValueError:
        ours = None
    assert ours == _library(digits)


@given(
    mobiles,
    st.sampled_from(["", "+86", "+86 ", "86", "86-", "0086", "0086 ", "(+86)"]),
    st.sampled_from(["", " ", "-"]),
    st.booleans(),
)
def test_formatting_never_changes_the_number(digits: str, prefix: str, sep: str, wide: bool) -> None:
    expected = _library(digits)
    text = prefix + sep.join([digits[:3], digits[3:7], digits[7:]])
    if wide:
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    try:
        ours: str | None = normalise_phone(text)
    except ValueError:
        ours = None
    assert ours == expected


@given(st.text(max_size=25))
def test_normaliser_never_crashes(text: str) -> None:
    try:
        value = normalise_phone(text)
    except ValueError:
        return
    assert value.startswith("+") and value[1:].isdigit()


def test_mask_and_other_identities() -> None:
    assert mask_phone("+8613812345678") == "138****5678"
    assert normalise_identity(IdentityKind.member_no, " M001 ") == "M001"
    with pytest.raises(ValueError, match="whitespace"):
        normalise_identity(IdentityKind.unionid, "o6_b ad")
    with pytest.raises(ValueError, match="empty"):
        normalise_identity(IdentityKind.member_no, "  ")


def _customer(s: Session, seen: datetime, **values: object) -> Customer:
    customer = Customer(source=values.pop("source", AcquisitionSource.organic), first_seen_at=seen, **values)
    s.add(customer)
    s.flush()
    return customer


def _identity(s: Session, customer: Customer, kind: IdentityKind, value: str) -> None:
    s.add(CustomerIdentity(customer_id=customer.id, kind=kind, value=value))


def test_resolver_clusters_and_merges(engine: Engine) -> None:
    with session_factory(engine)() as s:
        older = _customer(s, T0)
        newer = _customer(s, T0)
        _identity(s, older, IdentityKind.phone, "+8613800000001")
        _identity(s, newer, IdentityKind.member_no, "M9")
        s.commit()
        resolver = IdentityResolver()
        a = resolver.add([(IdentityKind.phone, "+8613800000001")])
        b = resolver.add([(IdentityKind.member_no, "M9"), (IdentityKind.unionid, "U1")])
        c = resolver.add([(IdentityKind.unionid, "U1"), (IdentityKind.phone, "+8613800000001")])
        d = resolver.add([(IdentityKind.phone, "+8613900000002")])
        result = resolver.resolve(s)
        groups = result.cluster_of_group
        # a, b and c are one person (joined through U1 and the phone); d is someone new.
        assert groups[a] == groups[b] == groups[c] != groups[d]
        assert result.merges() == [(older.id, [newer.id])]
        (fresh,) = result.new_clusters()
        assert result.clusters[fresh].keys == [(IdentityKind.phone, "+8613900000002")]


def test_merge_moves_everything_to_the_older_customer(engine: Engine) -> None:
    with session_factory(engine)() as s:
        store = OrgUnit(kind=OrgUnitKind.store, code="S1", name="S1", path="/1/", depth=0)
        s.add(store)
        s.flush()
        staff = Staff(code="G1", name="G1", unit_id=store.id)
        s.add(staff)
        s.flush()
        keep = _customer(s, T0 + timedelta(days=5), name="张三", points_balance=10)
        lose = _customer(s, T0, city="上海", points_balance=5, marketing_opt_in=True)
        friend = _customer(s, T0)
        _identity(s, keep, IdentityKind.phone, "+8613800000001")
        _identity(s, lose, IdentityKind.member_no, "M1")
        group = TagGroup(name="g")
        s.add(group)
        s.flush()
        shared, own = Tag(group_id=group.id, name="shared"), Tag(group_id=group.id, name="own")
        s.add_all([shared, own])
        s.flush()
        for customer, tag in ((keep, shared), (lose, shared), (lose, own)):
            s.add(
                CustomerTag(
                    customer_id=customer.id, tag_id=tag.id, applied_by=TagAppliedBy.staff, applied_at=T0
                )
            )
        order = Order(
            source="pos",
            external_no="1",
            customer_id=lose.id,
            channel=OrderChannel.store,
            amount_fen=100,
            paid_at=T0,
        )
        s.add(order)
        s.flush()
        s.add(OrderLine(order_id=order.id, customer_id=lose.id, sku="A", amount_fen=100))
        s.add(ChannelMembership(customer_id=lose.id, channel=Channel.wecom, staff_id=staff.id, joined_at=T0))
        s.add(StoreVisit(customer_id=lose.id, store_id=store.id, visited_at=T0))
        s.add(Referral(referrer_id=lose.id, referred_id=friend.id, referred_at=T0))
        s.add(Referral(referrer_id=keep.id, referred_id=lose.id, referred_at=T0))
        s.add(
            ChatMessage(
                msgid="m1",
                sender="wm1",
                direction=MessageDirection.customer_to_staff,
                customer_id=lose.id,
                msg_type="text",
                sent_at=T0,
            )
        )
        s.add(StaffTask(kind="follow_up", title="t", staff_id=staff.id, customer_id=lose.id, due_at=T0))
        s.add(Event(kind="ordered", occurred_at=T0, recorded_at=T0, customer_id=lose.id))
        s.flush()
        ids = {"keep": keep.id, "lose": lose.id, "friend": friend.id, "shared": shared.id, "own": own.id}
        merged = merge_customers(s, [(keep.id, [lose.id])], occurred_at=T0, reason="test")
        s.commit()
        assert merged == 1
    keep_id, lose_id, friend_id = ids["keep"], ids["lose"], ids["friend"]

    with session_factory(engine)() as s:

        def owners(model: type, column: str = "customer_id") -> set[int]:
            return set(s.scalars(select(getattr(model, column))))

        assert owners(CustomerIdentity) == {keep_id}
        assert owners(Order) == owners(OrderLine) == owners(ChannelMembership) == {keep_id}
        assert owners(StoreVisit) == owners(ChatMessage) == owners(StaffTask) == {keep_id}
        assert sorted(
            s.scalars(select(CustomerTag.tag_id).where(CustomerTag.customer_id == keep_id))
        ) == sorted([ids["shared"], ids["own"]])
        assert s.scalar(select(CustomerTag).where(CustomerTag.customer_id == lose_id)) is None
        # keep referred lose: after the merge that would be a self-referral, so it goes.
        referrals = s.execute(select(Referral.referrer_id, Referral.referred_id)).all()
        assert referrals == [(keep_id, friend_id)]
        survivor = s.get_one(Customer, keep_id)
        assert survivor.first_seen_at == T0  # the earliest time wins
        assert survivor.name == "张三" and survivor.city == "上海"  # gaps filled from the loser
        assert survivor.points_balance == 15 and survivor.marketing_opt_in
        assert s.get_one(Customer, lose_id).merged_into_id == keep_id
        event = s.scalars(select(Event).where(Event.kind == "customer_merged")).one()
        assert (event.customer_id, event.subject_id) == (keep_id, lose_id)
        assert event.data == {"merged_id": lose_id, "reason": "test"}
        assert set(s.scalars(select(Event.customer_id))) == {keep_id}


def test_merge_flattens_earlier_merges(engine: Engine) -> None:
    with session_factory(engine)() as s:
        a, b, c = (_customer(s, T0).id for _ in range(3))
        merge_customers(s, [(b, [c])], occurred_at=T0, reason="first")
        merge_customers(s, [(a, [b])], occurred_at=T0, reason="second")
        s.commit()
        assert s.get_one(Customer, c).merged_into_id == a
        assert s.get_one(Customer, b).merged_into_id == a
        assert merge_customers(s, [], occurred_at=T0, reason="none") == 0


def test_merge_keeps_the_survivors_row_of_a_table_keyed_by_customer_alone(engine: Engine) -> None:
    # customer_insights has customer_id as its whole primary key: both rows cannot stay.
    with session_factory(engine)() as s:
        keep, lose, other, third = (_customer(s, T0).id for _ in range(4))
        run = InsightRun(as_of=T0.date(), status="done", started_at=T0)
        s.add(run)
        s.flush()
        for customer, days in ((keep, 3), (lose, 7), (third, 2)):
            s.add(
                CustomerInsight(
                    customer_id=customer, run_id=run.id, computed_on=T0.date(), purchase_days=days
                )
            )
        s.flush()
        merged = merge_customers(s, [(keep, [lose]), (other, [third])], occurred_at=T0, reason="test")
        s.commit()
        assert merged == 2
        rows = dict(s.execute(select(CustomerInsight.customer_id, CustomerInsight.purchase_days)).all())
        assert rows == {keep: 3, other: 2}  # the survivor's own row wins; a loser's only row moves over
