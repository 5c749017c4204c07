"""Script library: folding search (traditional, full-width, case), ranking, approval flow, variants, audit."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from siyu.compliance.normalise import fold
from siyu.errors import Conflict, Forbidden, Invalid
from siyu.journeys import scripts_repository as repo
from siyu.journeys import scripts_service as service
from siyu.journeys.scripts_schemas import ReviewIn, ScriptIn
from siyu.models import AuditLog, Script, ScriptApproval
from tests.journeys.scripts_support import add_script, build_world
from tests.talent.roles_support import Org


@pytest.fixture()
def org(engine: Engine) -> Org:
    return build_world(engine)


def _ids(session: Session, query: str, **kw: object) -> list[int]:
    _, rows = repo.search(session, repo.ScriptFilters(query=query, **kw), 500)
    return [s.id for s in rows]


def test_traditional_fullwidth_and_case_queries_find_simplified_scripts(session: Session, org: Org) -> None:
    op, lead = org.actor("operator"), org.actor("lead")
    birthday = add_script(session, op, lead, "生日祝福", "{name}，祝您生日快乐！送您一张{coupon}", "birthday")
    vip = add_script(session, op, lead, "VIP会员日", "会员日全场8折，{name}别错过", "promotion")
    add_script(session, op, lead, "新客欢迎", "您好{name}，我是{store}的{guide}", "welcome")
    assert _ids(session, "生日") == [birthday.id]
    assert _ids(session, "生日快樂") == [birthday.id]  # traditional 樂 → 乐
    assert _ids(session, "會員") == [vip.id]
    assert _ids(session, "ｖｉｐ") == [vip.id]  # full-width, lower case
    assert _ids(session, "vip 8折") == [vip.id]
    assert _ids(session, "vip 生日") == []  # every term must occur
    assert _ids(session, "{coupon}") == [birthday.id]
    assert _ids(session, "100%") == []  # LIKE wildcards are literal
    assert _ids(session, "_") == []


def test_search_matches_brute_force_and_ranks_title_hits_then_usage(session: Session, org: Org) -> None:
    op, lead = org.actor("operator"), org.actor("lead")
    rng = random.Random(7)
    words = ["生日", "會員", "优惠券", "新品", "宝宝", "护肤", "ABC", "满减"]
    made = []
    for n in range(40):
        title = "".join(rng.sample(words, 2))
        body = "".join(rng.sample(words, 3)) + f" {{name}} #{n}"
        s = add_script(
            session, op, lead if n % 3 else None, title, body, "product", scenario=rng.choice(words)
        )
        made.append(s)
    session.execute(update(Script).values(usage_count=Script.id % 7))
    session.flush()
    rows = session.execute(
        select(Script.id, Script.title, Script.scenario, Script.body, Script.usage_count)
    ).all()
    for query in ["生日", "会员 宝宝", "abc", "優惠券 新品", "满减 abc 护肤", "不存在"]:
        terms = fold(query).split()
        expected = [
            r
            for r in rows
            if all(t in fold(r.title) or t in fold(f"{r.scenario or ''}\n{r.body}") for t in terms)
        ]
        expected.sort(key=lambda r: (-sum(t in fold(r.title) for t in terms), -r.usage_count, -r.id))
        assert _ids(session, query) == [r.id for r in expected], query
        total, _ = repo.search(session, repo.ScriptFilters(query=query), 3)
        assert total == len(expected)
    approved = _ids(session, "", approved_only=True)
    assert set(approved) == {s.id for n, s in enumerate(made) if n % 3}


def test_approval_flow_four_eyes_and_edit_sends_back_to_review(session: Session, org: Org) -> None:
    op, lead, admin, guide = org.actor("operator"), org.actor("lead"), org.actor("admin"), org.actor("guide")
    data = ScriptIn(title="售后回访", category="after_sale", body="{name}您好，宝贝用着还满意吗？")
    with pytest.raises(Forbidden):
        service.create_script(session, guide, data)
    script = service.create_script(session, op, data)
    assert script.approval == ScriptApproval.draft
    with pytest.raises(Conflict):
        service.review_script(session, lead, script.id, ReviewIn(decision="approve"))
    service.submit_script(session, op, script.id)
    with pytest.raises(Forbidden):
        service.review_script(
            session, op, script.id, ReviewIn(decision="approve")
        )  # operators do not approve
    with pytest.raises(Invalid):
        service.review_script(session, lead, script.id, ReviewIn(decision="reject"))  # a note is required
    service.review_script(session, lead, script.id, ReviewIn(decision="reject", note="语气太生硬"))
    assert script.approval == ScriptApproval.rejected and script.review_note == "语气太生硬"
    service.submit_script(session, op, script.id)
    service.review_script(session, admin, script.id, ReviewIn(decision="approve", note="ok"))
    assert script.approval == ScriptApproval.approved and script.reviewed_by_account_id == admin.account_id
    # Guides read approved scripts only.
    assert service.get_script(session, guide, script.id).id == script.id
    edited = data.model_copy(update={"body": "{name}您好，宝贝用着还满意吗？有问题随时找{guide}"})
    service.update_script(session, op, script.id, edited)
    assert script.approval == ScriptApproval.pending and script.reviewed_at is None
    with pytest.raises(Exception, match="does not exist"):
        service.get_script(session, guide, script.id)
    own = service.create_script(session, lead, data.model_copy(update={"submit": True}))
    with pytest.raises(Forbidden, match="author"):
        service.review_script(session, lead, own.id, ReviewIn(decision="approve"))
    service.retire_script(session, op, script.id)
    with pytest.raises(Conflict):
        service.update_script(session, op, script.id, edited)
    actions = session.scalars(
        select(AuditLog.action)
        .where(AuditLog.target_type == "script", AuditLog.target_id == script.id)
        .order_by(AuditLog.id)
    ).all()
    assert actions == [
        "script.create", "script.submit", "script.reject", "script.submit", "script.approve", "script.update",
        "script.retire",
    ]  # fmt: skip


def test_variables_and_attachments_are_validated(session: Session, org: Org) -> None:
    op = org.actor("operator")
    with pytest.raises(Invalid, match=r"\{phone\}"):
        service.create_script(session, op, ScriptIn(title="x", category="welcome", body="打给{phone}"))
    bad = [
        {"kind": "link", "ref": "not a url", "title": "活动"},
        {"kind": "link", "ref": "https://a.cn/x"},  # a link needs a title
        {"kind": "miniprogram", "ref": "wxNOTHEX/pages/a", "title": "会员"},
        {"kind": "video", "ref": "media/a.mp4"},
    ]
    for attachment in bad:
        with pytest.raises(Invalid):
            service.parse_script(
                {"title": "x", "category": "welcome", "body": "hi", "attachments": [attachment]}, "t"
            )
    with pytest.raises(Invalid, match="category"):
        service.parse_script({"title": "x", "category": "nope", "body": "hi"}, "t")
    ok = service.parse_script(
        {
            "title": "活动",
            "category": "promotion",
            "body": "{name}看看",
            "attachments": [
                {"kind": "image", "ref": "media/poster-1.jpg"},
                {"kind": "link", "ref": "https://shop.example.cn/a?b=1", "title": "活动详情"},
                {"kind": "miniprogram", "ref": "wx0123456789abcdef/pages/index", "title": "会员中心"},
            ],
        },
        "t",
    )
    script = service.create_script(session, op, ok)
    assert [a["kind"] for a in script.attachments or []] == ["image", "link", "miniprogram"]
    assert service.preview(script.body) == "王女士看看"


def test_variants_form_one_flat_family(session: Session, org: Org) -> None:
    op, lead = org.actor("operator"), org.actor("lead")
    root = add_script(session, op, lead, "欢迎语", "{name}您好")
    b = add_script(session, op, lead, "欢迎语 B", "{name}，欢迎！", parent_id=root.id, variant_label="B")
    add_script(session, op, None, "欢迎语 C", "嗨{name}", parent_id=root.id, variant_label="C")
    with pytest.raises(Conflict):
        add_script(session, op, None, "dup", "x", parent_id=root.id, variant_label="b")
    with pytest.raises(Invalid, match="itself a variant"):
        add_script(session, op, None, "nested", "x", parent_id=b.id, variant_label="D")
    family = repo.family(session, root.id)
    assert [s.variant_label for s in family] == [None, "B", "C"]
    assert repo.variant_counts(session, [root.id]) == {root.id: 2}
    with pytest.raises(Invalid, match="variant"):
        service.update_script(
            session,
            op,
            root.id,
            ScriptIn(title="欢迎语", category="welcome", body="x", parent_id=b.id, variant_label="Z"),
        )
    assert session.scalar(select(func.count()).select_from(Script)) == 3


def test_reindex_fixes_scripts_written_around_the_service(session: Session, org: Org) -> None:
    session.add(
        Script(title="國慶問候", category="holiday", body="{name}国庆快乐", approval=ScriptApproval.approved)
    )
    session.flush()
    assert _ids(session, "国庆") == []  # written without search_text
    assert service.reindex_search_text(session) == 1
    assert len(_ids(session, "國慶")) == 1
    assert service.reindex_search_text(session) == 0
