"""The 标签 page: counts, create, rename, merge, delete, roles, CSRF and escaping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from siyu.db.engine import session_factory
from siyu.models import AcquisitionSource, AuditLog, Customer, CustomerTag, Event, Tag, TagAppliedBy, TagGroup
from tests.web.conftest import MakeAccount, login, page_token

T0 = datetime(2024, 1, 10, 2, 0, tzinfo=UTC)


@pytest.fixture()
def tagged(engine: Engine) -> dict[str, int]:
    """Tags A (customers 1, 2, 3) and B (customers 3, 4) in one group; returns tag ids."""
    with session_factory(engine)() as s:
        group = TagGroup(name="兴趣", exclusive=False, sort_order=0)
        s.add(group)
        s.flush()
        a, b = Tag(group_id=group.id, name="护肤"), Tag(group_id=group.id, name="彩妆")
        customers = [
            Customer(name=f"c{i}", source=AcquisitionSource.store, first_seen_at=T0) for i in range(4)
        ]
        s.add_all([a, b, *customers])
        s.flush()
        pairs = [(0, a), (1, a), (2, a), (2, b), (3, b)]
        s.add_all(
            CustomerTag(
                customer_id=customers[i].id, tag_id=t.id, applied_by=TagAppliedBy.account, applied_at=T0
            )
            for i, t in pairs
        )
        s.commit()
        return {"a": a.id, "b": b.id, "group": group.id}


def signed_in(client: TestClient, make_account: MakeAccount, role: str = "admin") -> dict[str, str]:
    """Sign in with a role; htmx headers carrying the CSRF token."""
    make_account("u", role)
    assert login(client, "u").status_code == 303
    return {"HX-Request": "true", "X-CSRF-Token": page_token(client, "/customers")}


def count_of(html: str, tag_id: int) -> str:
    """The customer count shown for a tag."""
    return html.split(f'id="tag-{tag_id}"')[1].split('class="count">')[1].split(">")[1].split("<")[0]


def test_counts_and_merge(
    client: TestClient, engine: Engine, make_account: MakeAccount, tagged: dict[str, int]
) -> None:
    """Merge moves A's customers to B without duplicates, deletes A, writes events and an audit row."""
    headers = signed_in(client, make_account)
    page = client.get("/tags").text
    assert count_of(page, tagged["a"]) == "3" and count_of(page, tagged["b"]) == "2"
    # The first post only asks: nothing changes until the confirmation comes back.
    asked = client.post(f"/tags/{tagged['a']}/merge", data={"target_id": tagged["b"]}, headers=headers)
    assert asked.status_code == 200 and 'id="merge-confirm"' in asked.text
    assert "3" in asked.text.split('id="merge-confirm"')[1].split("</p>")[0]  # A's customers
    assert 'name="confirm" value="1"' in asked.text
    with session_factory(engine)() as s:
        assert s.get(Tag, tagged["a"]) is not None
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action.like("tag%"))) == 0
    confirmed = {"target_id": tagged["b"], "confirm": "1"}
    merged = client.post(f"/tags/{tagged['a']}/merge", data=confirmed, headers=headers)
    assert merged.status_code == 200, merged.text
    assert 'id="merge-confirm"' not in merged.text
    assert f'id="tag-{tagged["a"]}"' not in merged.text and count_of(merged.text, tagged["b"]) == "4"
    with session_factory(engine)() as s:
        assert s.get(Tag, tagged["a"]) is None
        assert s.scalar(select(func.count()).select_from(CustomerTag)) == 4
        kinds = dict(s.execute(select(Event.kind, func.count()).group_by(Event.kind)).all())
        assert kinds == {"untagged": 3, "tagged": 2}
        assert s.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "tag.merge")) == 1


def test_create_rename_delete(
    client: TestClient, engine: Engine, make_account: MakeAccount, tagged: dict[str, int]
) -> None:
    """Groups and tags are created, renamed and deleted from the page."""
    headers = signed_in(client, make_account, "operator")
    assert client.post("/tags/groups", data={"name": "生命周期"}, headers=headers).status_code == 200
    created = client.post("/tags", data={"group_id": tagged["group"], "name": "敏感肌"}, headers=headers)
    assert "敏感肌" in created.text
    renamed = client.post(f"/tags/{tagged['b']}/rename", data={"name": "香水"}, headers=headers)
    assert "香水" in renamed.text
    duplicate = client.post(f"/tags/{tagged['b']}/rename", data={"name": "护肤"}, headers=headers)
    assert duplicate.status_code == 409
    assert client.post(f"/tags/{tagged['a']}/delete", headers=headers).status_code == 200
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(CustomerTag)) == 2
        assert s.scalar(select(TagGroup.id).where(TagGroup.name == "生命周期")) is not None


def test_csrf_and_roles(client: TestClient, make_account: MakeAccount, tagged: dict[str, int]) -> None:
    """Posts need the CSRF token; guides may not manage tags."""
    signed_in(client, make_account)
    assert client.post(f"/tags/{tagged['a']}/delete").status_code == 403
    other = TestClient(client.app)
    make_account("g", "guide", scope="all")
    assert login(other, "g").status_code == 303
    assert other.get("/tags").status_code == 403


def test_tag_name_is_escaped(client: TestClient, make_account: MakeAccount, tagged: dict[str, int]) -> None:
    """A tag called <script>… shows as text on the tag page and the customer list."""
    headers = signed_in(client, make_account)
    evil = "<script>alert(1)</script>"
    client.post(f"/tags/{tagged['a']}/rename", data={"name": evil}, headers=headers)
    for path in ("/tags", "/customers"):
        html = client.get(path).text
        assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_groups_rename_and_delete_only_when_empty(
    client: TestClient, engine: Engine, make_account: MakeAccount, tagged: dict[str, int]
) -> None:
    """A group is renamed in place; deleting one that holds tags is refused and changes nothing."""
    headers = signed_in(client, make_account)
    group = tagged["group"]
    renamed = client.post(f"/tags/groups/{group}/rename", data={"name": "偏好"}, headers=headers)
    assert renamed.status_code == 200 and "偏好" in renamed.text
    refused = client.post(f"/tags/groups/{group}/delete", headers=headers)
    assert refused.status_code == 409
    assert "2" in refused.text and "合并或删除" in refused.text
    with session_factory(engine)() as s:
        assert s.get(TagGroup, group) is not None
        assert s.scalar(select(func.count()).select_from(CustomerTag)) == 5
    client.post("/tags/groups", data={"name": "空组"}, headers=headers)
    with session_factory(engine)() as s:
        empty = s.scalar(select(TagGroup.id).where(TagGroup.name == "空组"))
    assert client.post(f"/tags/groups/{empty}/delete", headers=headers).status_code == 200
    with session_factory(engine)() as s:
        assert s.get(TagGroup, empty) is None
        actions = list(
            s.scalars(select(AuditLog.action).where(AuditLog.action.like("tag%")).order_by(AuditLog.id))
        )
    assert actions == ["tag_group.update", "tag_group.create", "tag_group.delete"]
    blank = client.post(f"/tags/groups/{group}/rename", data={"name": " "}, headers=headers)
    assert blank.status_code == 422 and "name" in blank.text
