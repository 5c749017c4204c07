"""Customer list (filters, sort, paging, bulk tags, export) and Customer 360 pages."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.models import (
    AcquisitionSource,
    AuditLog,
    Channel,
    ChannelMembership,
    ChatMessage,
    Customer,
    CustomerIdentity,
    CustomerTag,
    Event,
    IdentityKind,
    LeaveReason,
    MessageDirection,
    StaffTask,
    Tag,
    TagAppliedBy,
    TagGroup,
)
from siyu.org.service import create_staff, create_unit
from tests.web.conftest import MakeAccount, login, page_token

T0 = datetime(2024, 1, 10, 2, 0, tzinfo=UTC)
EXTRA = 60
ROW_ID = re.compile(r'<tr id="customer-(\d+)"')


@dataclass
class Brand:
    """Ids of what the fixture built."""

    staff: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    customers: dict[str, int] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)


@pytest.fixture()
def brand(engine: Engine) -> Brand:
    """Two stores, two guides, two named customers plus EXTRA more in store 1, one tag group."""
    b = Brand()
    with session_factory(engine)() as s:
        create_unit(s, code="R1", name="华东大区", kind="region")
        b.units["ST1"] = create_unit(s, code="ST1", name="上海一店", kind="store", parent_code="R1").id
        b.units["ST2"] = create_unit(s, code="ST2", name="上海二店", kind="store", parent_code="R1").id
        b.staff["S1"] = create_staff(s, code="S1", name="王导购", unit_code="ST1").id
        b.staff["S2"] = create_staff(s, code="S2", name="李导购", unit_code="ST2").id
        zhang = Customer(
            name="张三",
            source=AcquisitionSource.store,
            owner_staff_id=b.staff["S1"],
            home_store_id=b.units["ST1"],
            first_seen_at=T0,
        )
        li = Customer(
            name="李四",
            source=AcquisitionSource.ad,
            owner_staff_id=b.staff["S2"],
            home_store_id=b.units["ST2"],
            first_seen_at=T0 + timedelta(days=1),
        )
        extra = [
            Customer(
                name=f"客户{i:02d}",
                source=AcquisitionSource.organic,
                owner_staff_id=b.staff["S1"],
                home_store_id=b.units["ST1"],
                first_seen_at=T0 + timedelta(hours=i),
            )
            for i in range(EXTRA)
        ]
        s.add_all([zhang, li, *extra])
        s.flush()
        b.customers = {"zhang": zhang.id, "li": li.id}
        s.add_all(
            [
                CustomerIdentity(customer_id=zhang.id, kind=IdentityKind.phone, value="+8613812341234"),
                CustomerIdentity(customer_id=li.id, kind=IdentityKind.phone, value="+8613900005678"),
                ChannelMembership(
                    customer_id=zhang.id, channel=Channel.wecom, staff_id=b.staff["S1"], joined_at=T0
                ),
                ChannelMembership(
                    customer_id=li.id,
                    channel=Channel.wecom,
                    staff_id=b.staff["S2"],
                    joined_at=T0,
                    left_at=T0 + timedelta(days=2),
                    leave_reason=LeaveReason.customer_deleted_staff,
                ),
                StaffTask(
                    kind="follow_up",
                    title="回访张三",
                    staff_id=b.staff["S1"],
                    customer_id=zhang.id,
                    due_at=T0,
                ),
            ]
        )
        s.add_all(
            ChatMessage(
                msgid=f"m{i}",
                sender="S1",
                direction=MessageDirection.staff_to_customer,
                staff_id=b.staff["S1"],
                customer_id=zhang.id,
                msg_type="text",
                text=f"消息{i:02d}",
                sent_at=T0 + timedelta(minutes=i),
            )
            for i in range(25)
        )
        group = TagGroup(name="兴趣", exclusive=False, sort_order=0)
        s.add(group)
        s.flush()
        skin, makeup = Tag(group_id=group.id, name="护肤"), Tag(group_id=group.id, name="彩妆")
        s.add_all([skin, makeup])
        s.flush()
        b.tags = {"skin": skin.id, "makeup": makeup.id}
        s.add(
            CustomerTag(customer_id=zhang.id, tag_id=skin.id, applied_by=TagAppliedBy.account, applied_at=T0)
        )
        s.commit()
    return b


def ids_in(html: str) -> list[int]:
    """Customer ids of the result rows, in order."""
    return [int(i) for i in ROW_ID.findall(html)]


def admin(client: TestClient, make_account: MakeAccount) -> TestClient:
    """Sign in as an admin."""
    make_account("root", "admin")
    assert login(client, "root").status_code == 303
    return client


@pytest.mark.parametrize(
    ("params", "who"),
    [
        ({"q": "张三"}, "zhang"),
        ({"phone": "1234"}, "zhang"),
        ({"phone": "+86 138 1234 1234"}, "zhang"),
        ({"source": "ad"}, "li"),
        ({"channel": "wecom"}, "zhang"),
    ],
)
def test_search_by_filter(
    client: TestClient, make_account: MakeAccount, brand: Brand, params: dict[str, str], who: str
) -> None:
    """Each filter narrows the list to the matching customer."""
    admin(client, make_account)
    page = client.get("/customers", params=params)
    assert page.status_code == 200, page.text
    assert ids_in(page.text) == [brand.customers[who]]


def test_search_by_tag_owner_store(client: TestClient, make_account: MakeAccount, brand: Brand) -> None:
    """Tag, owner and store filters take ids from the selects."""
    admin(client, make_account)
    assert ids_in(client.get("/customers", params={"tag": brand.tags["skin"]}).text) == [
        brand.customers["zhang"]
    ]
    assert ids_in(client.get("/customers", params={"owner": brand.staff["S2"]}).text) == [
        brand.customers["li"]
    ]
    assert ids_in(client.get("/customers", params={"store": brand.units["ST2"]}).text) == [
        brand.customers["li"]
    ]


def test_phone_is_masked_in_list(client: TestClient, make_account: MakeAccount, brand: Brand) -> None:
    """The list shows phones masked."""
    admin(client, make_account)
    html = client.get("/customers", params={"q": "张三"}).text
    assert "138****1234" in html and "13812341234" not in html


def test_htmx_filter_returns_fragment(client: TestClient, make_account: MakeAccount, brand: Brand) -> None:
    """An htmx filter request gets only the results block."""
    admin(client, make_account)
    html = client.get("/customers", params={"q": "李"}, headers={"HX-Request": "true"}).text
    assert html.lstrip().startswith('<div id="customer-results">') and "<html" not in html


SORTS = {
    "name": func.coalesce(Customer.name, ""),
    "first_seen_at": Customer.first_seen_at,
    "source": Customer.source,
    "id": Customer.id,
}


@pytest.mark.parametrize(
    ("sort", "direction"), [("name", "desc"), ("first_seen_at", "asc"), ("source", "desc"), ("id", "asc")]
)
def test_pagination_walk_under_sort(
    client: TestClient, engine: Engine, make_account: MakeAccount, brand: Brand, sort: str, direction: str
) -> None:
    """Walking every page by cursor under a sort yields each customer once, in order."""
    admin(client, make_account)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"sort": sort, "dir": direction, **({"cursor": cursor} if cursor else {})}
        html = client.get("/customers", params=params, headers={"HX-Request": "true"}).text
        seen += ids_in(html)
        pages += 1
        found = re.search(r'id="next-page" href="[^"]*cursor=([^"&]+)"', html)
        if not found:
            break
        cursor = found.group(1)
    assert pages == 2 and len(seen) == EXTRA + 2 == len(set(seen))
    column = SORTS[sort]
    order = [column.desc(), Customer.id.desc()] if direction == "desc" else [column, Customer.id]
    with session_factory(engine)() as s:
        assert seen == list(s.scalars(select(Customer.id).order_by(*order)).all())


def test_foreign_cursor_is_rejected(client: TestClient, make_account: MakeAccount, brand: Brand) -> None:
    """A cursor made for another sort is refused."""
    admin(client, make_account)
    html = client.get("/customers", params={"sort": "id"}).text
    cursor = re.search(r'cursor=([^"&]+)"', html)
    assert cursor is not None
    assert client.get("/customers", params={"sort": "name", "cursor": cursor.group(1)}).status_code == 422


def test_unknown_sort_is_rejected(client: TestClient, make_account: MakeAccount, brand: Brand) -> None:
    """Only whitelisted sort keys are accepted."""
    admin(client, make_account)
    assert client.get("/customers", params={"sort": "password_hash"}).status_code == 422


def test_bulk_tag_add_and_remove(
    client: TestClient, engine: Engine, make_account: MakeAccount, brand: Brand
) -> None:
    """Bulk add/remove goes through the tags service: rows, events and an audit row."""
    admin(client, make_account)
    token = page_token(client, "/customers")
    ids = [brand.customers["zhang"], brand.customers["li"]]
    data = {"customer_ids": [str(i) for i in ids], "tag_id": str(brand.tags["makeup"]), "action": "add"}
    refused = client.post("/customers/bulk-tag", data=data, headers={"HX-Request": "true"})
    assert refused.status_code == 403
    done = client.post(
        "/customers/bulk-tag", data={**data, "csrf_token": token}, headers={"HX-Request": "true"}
    )
    assert done.status_code == 200, done.text
    with session_factory(engine)() as s:
        tagged = s.scalars(
            select(CustomerTag.customer_id).where(CustomerTag.tag_id == brand.tags["makeup"])
        ).all()
        assert sorted(tagged) == sorted(ids)
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "tagged")) == 2
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "tag.apply")) == 1
    data["action"] = "remove"
    client.post("/customers/bulk-tag", data={**data, "csrf_token": token}, headers={"HX-Request": "true"})
    with session_factory(engine)() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(CustomerTag)
                .where(CustomerTag.tag_id == brand.tags["makeup"])
            )
            == 0
        )


def test_csv_export_equals_filter_and_is_audited(
    client: TestClient, engine: Engine, make_account: MakeAccount, brand: Brand
) -> None:
    """The CSV holds exactly the filtered rows; an operator gets masked phones; one audit row."""
    make_account("op", "operator")
    assert login(client, "op").status_code == 303
    response = client.get("/customers/export", params={"fmt": "csv", "q": "三"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "id" and [int(r[0]) for r in rows[1:]] == [brand.customers["zhang"]]
    assert rows[1][2] == "+86 138****1234" and "兴趣:护肤" in rows[1][7]
    everything = client.get("/customers/export", params={"fmt": "csv"}).content.decode("utf-8-sig")
    assert len(everything.strip().splitlines()) == EXTRA + 3
    with session_factory(engine)() as s:
        logs = s.scalars(
            select(AuditLog).where(AuditLog.action == "customer.export").order_by(AuditLog.id)
        ).all()
    assert [(log.detail or {})["rows"] for log in logs] == [1, EXTRA + 2]
    assert (logs[0].detail or {})["filter"] == {"q": "三"}


def test_xlsx_export_reveals_for_admin(client: TestClient, make_account: MakeAccount, brand: Brand) -> None:
    """An admin's XLSX carries full phones; rows match the filter."""
    admin(client, make_account)
    response = client.get("/customers/export", params={"fmt": "xlsx", "source": "ad"})
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 2 and values[1][0] == brand.customers["li"] and values[1][2] == "+8613900005678"


def test_guide_export_is_scope_limited(client: TestClient, make_account: MakeAccount, brand: Brand) -> None:
    """A guide exports only own customers."""
    make_account("g2", "guide", scope="self", staff_code="S2")
    assert login(client, "g2").status_code == 303
    text = client.get("/customers/export", params={"fmt": "csv"}).content.decode("utf-8-sig")
    assert [int(r[0]) for r in list(csv.reader(io.StringIO(text)))[1:]] == [brand.customers["li"]]


def test_customer_360_sections(client: TestClient, make_account: MakeAccount, brand: Brand) -> None:
    """Identities, timeline, tags, orders, messages (20 + show more), tasks, owner and store."""
    admin(client, make_account)
    html = client.get(f"/customers/{brand.customers['zhang']}").text
    for section in ("identities", "memberships", "tags", "orders", "messages", "tasks"):
        assert f'id="{section}"' in html
    assert "王导购" in html and "上海一店" in html and "回访张三" in html and "护肤" in html
    assert html.count('class="message"') == 20 and 'id="more-messages"' in html
    more = client.get(
        f"/customers/{brand.customers['zhang']}/messages",
        params={"offset": 20},
        headers={"HX-Request": "true"},
    )
    assert more.text.count('class="message"') == 5 and "more-messages" not in more.text
    left = client.get(f"/customers/{brand.customers['li']}").text
    assert "Customer deleted the staff member" in left or "客户删除了员工" in left


def test_360_tag_add_remove_and_reveal(
    client: TestClient, engine: Engine, make_account: MakeAccount, brand: Brand
) -> None:
    """Tags change in place; a reveal shows the phone and is audited."""
    admin(client, make_account)
    cid = brand.customers["zhang"]
    headers = {"HX-Request": "true", "X-CSRF-Token": page_token(client, f"/customers/{cid}")}
    added = client.post(f"/customers/{cid}/tags", data={"tag_id": brand.tags["makeup"]}, headers=headers)
    assert added.status_code == 200 and "彩妆" in added.text
    removed = client.post(f"/customers/{cid}/tags/{brand.tags['skin']}/remove", headers=headers)
    assert "护肤" not in removed.text.split("<select")[0]
    shown = client.post(f"/customers/{cid}/reveal", headers=headers)
    assert "+8613812341234" in shown.text
    with session_factory(engine)() as s:
        reveals = s.scalar(
            select(func.count()).select_from(AuditLog).where(AuditLog.action == "customer.phone.reveal")
        )
    assert reveals == 1


def test_guide_cannot_open_other_store_customer(
    client: TestClient, make_account: MakeAccount, brand: Brand
) -> None:
    """Out-of-scope and unknown ids are the same 404; guides get no reveal button."""
    make_account("g1", "guide", scope="self", staff_code="S1")
    assert login(client, "g1").status_code == 303
    assert client.get(f"/customers/{brand.customers['li']}").status_code == 404
    assert client.get("/customers/999999").status_code == 404
    own = client.get(f"/customers/{brand.customers['zhang']}")
    assert own.status_code == 200 and 'id="reveal-phone"' not in own.text
    assert brand.customers["li"] not in ids_in(client.get("/customers").text)
    token = page_token(client, "/customers")
    assert (
        client.post(
            f"/customers/{brand.customers['zhang']}/reveal", headers={"X-CSRF-Token": token}
        ).status_code
        == 403
    )


def test_search_text_is_inert(client: TestClient, make_account: MakeAccount, brand: Brand) -> None:
    """A SQL-looking search matches nothing and is echoed escaped."""
    admin(client, make_account)
    page = client.get("/customers", params={"q": "' OR 1=1 --<b>"})
    assert page.status_code == 200 and ids_in(page.text) == []
    assert "<b>" not in page.text and "&#39; OR 1=1 --&lt;b&gt;" in page.text
