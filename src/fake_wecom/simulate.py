"""Client-side actions of the fake corp (these emit callbacks) and deterministic seeding."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fake_wecom.api_groups import complete_transfers, receive_window
from fake_wecom.models import FakeContactWay, FakeGroupChat, FakeGroupMember, FakeTag, FakeWelcomeCode

if TYPE_CHECKING:
    from fake_wecom.corp import FakeCorp

__all__ = ["complete_transfers"]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊洋艳勇军杰娟涛明超秀霞平刚桂"


def _contact_event(change_type: str, userid: str, ext: str, **extra: Any) -> dict[str, Any]:
    return {
        "Event": "change_external_contact",
        "ChangeType": change_type,
        "UserID": userid,
        "ExternalUserID": ext,
        **extra,
    }


def _added(corp: FakeCorp, userid: str, ext: str, state: str, add_way: int) -> dict[str, Any]:
    """Under the lock: the follow + (unless the member has a console welcome) a WelcomeCode; returns the event."""
    now = corp.now()
    corp.add_follow(userid, ext, int(now), add_way=add_way, state=state, oper_userid=ext)
    event = _contact_event("add_external_contact", userid, ext)
    if state:
        event["State"] = state
    if not corp.staff[userid].console_welcome:
        code = FakeWelcomeCode(corp.next_id("wc"), userid, ext, now)
        corp.welcome_codes[code.code] = code
        event["WelcomeCode"] = code.code
    return event


def scan(corp: FakeCorp, key: str, *, userid: str | None, name: str, external_userid: str | None) -> str:
    """A customer scans the contact way with config_id or state `key`."""
    with corp.lock:
        way = corp.contact_ways.get(key) or next(
            (w for w in corp.contact_ways.values() if w.state == key), None
        )
        if way is None:
            raise KeyError(f"fake corp: no contact way with config_id or state {key!r}")
        if userid is None:
            userid = way.user[way.scans % len(way.user)]  # multi-member codes rotate
        elif userid not in way.user:
            raise KeyError(f"fake corp: {userid!r} is not a member of contact way {way.config_id}")
        way.scans += 1
        ext = external_userid or corp.add_contact(name).external_userid
        event = _added(corp, userid, ext, way.state, add_way=1)
    corp.emit(event)
    return ext


def add(corp: FakeCorp, userid: str, *, name: str, state: str, add_way: int) -> str:
    """A customer adds a member directly."""
    with corp.lock:
        corp.require_staff(userid)
        ext = corp.add_contact(name).external_userid
        event = _added(corp, userid, ext, state, add_way=add_way)
    corp.emit(event)
    return ext


def customer_deletes_staff(corp: FakeCorp, userid: str, ext: str) -> None:
    """del_follow_user."""
    if corp.remove_follow(userid, ext) is None:
        raise KeyError(f"fake corp: {userid!r} does not follow {ext!r}")
    corp.emit(_contact_event("del_follow_user", userid, ext))


def staff_deletes_customer(corp: FakeCorp, userid: str, ext: str) -> None:
    """del_external_contact."""
    if corp.remove_follow(userid, ext) is None:
        raise KeyError(f"fake corp: {userid!r} does not follow {ext!r}")
    corp.emit(_contact_event("del_external_contact", userid, ext))


def edit_contact(corp: FakeCorp, userid: str, ext: str, **changes: Any) -> None:
    """Remark/description/tag edits fire edit_external_contact; a remark_mobiles-only edit fires nothing (DOC/101456)."""
    with corp.lock:
        follow = corp.follow(userid, ext)
        if follow is None:
            raise KeyError(f"fake corp: {userid!r} does not follow {ext!r}")
        before = (follow.remark, follow.description, list(follow.tag_ids))
        follow.remark = changes.pop("remark", follow.remark)
        follow.description = changes.pop("description", follow.description)
        follow.remark_mobiles = list(changes.pop("remark_mobiles", follow.remark_mobiles))
        add_tags, remove_tags = list(changes.pop("add_tags", [])), list(changes.pop("remove_tags", []))
        if changes:
            raise TypeError(f"simulate_edit_contact: unknown fields {sorted(changes)}")
        for tid in add_tags + remove_tags:
            if tid not in corp.tags:
                raise KeyError(f"fake corp: no tag {tid!r}")
        follow.tag_ids = [t for t in follow.tag_ids if t not in remove_tags] + [
            t for t in add_tags if t not in follow.tag_ids
        ]
        changed = before != (follow.remark, follow.description, follow.tag_ids)
    if changed:
        corp.emit(_contact_event("edit_external_contact", userid, ext))


def _chat_event(chat_id: str, change_type: str, **extra: Any) -> dict[str, Any]:
    return {"Event": "change_external_chat", "ChatId": chat_id, "ChangeType": change_type, **extra}


def _member(corp: FakeCorp, member_id: str, now: int, join_scene: int, invitor: str) -> FakeGroupMember:
    if member_id in corp.staff:
        return FakeGroupMember(member_id, 1, now, join_scene, invitor, name=corp.staff[member_id].name)
    contact = corp.require_contact(member_id)
    return FakeGroupMember(member_id, 2, now, join_scene, invitor, unionid=contact.unionid, name=contact.name)


def create_group(corp: FakeCorp, owner: str, name: str, exts: list[str], members: list[str]) -> str:
    """change_external_chat create."""
    with corp.lock:
        corp.require_staff(owner)
        now = int(corp.now())
        group = FakeGroupChat(corp.next_id("wr"), name, owner, now)
        group.members = [_member(corp, m, now, 1, owner) for m in [owner, *members, *exts]]
        corp.groups[group.chat_id] = group
    corp.emit(_chat_event(group.chat_id, "create"))
    return group.chat_id


def join_group(corp: FakeCorp, chat_id: str, member_id: str, *, join_scene: int, invitor: str) -> None:
    """change_external_chat update add_member (JoinScene 1 invite, 2 link, 3 QR)."""
    with corp.lock:
        group = corp.groups[chat_id]
        if any(m.userid == member_id for m in group.members):
            raise KeyError(f"fake corp: {member_id!r} is already in {chat_id}")
        group.members.append(_member(corp, member_id, int(corp.now()), join_scene, invitor or group.owner))
    corp.emit(
        _chat_event(
            chat_id,
            "update",
            UpdateDetail="add_member",
            JoinScene=join_scene,
            MemChangeCnt=1,
            MemChangeList=[member_id],
        )
    )


def leave_group(corp: FakeCorp, chat_id: str, member_id: str, *, quit_scene: int) -> None:
    """change_external_chat update del_member (QuitScene 0 left, 1 removed)."""
    with corp.lock:
        group = corp.groups[chat_id]
        kept = [m for m in group.members if m.userid != member_id]
        if len(kept) == len(group.members):
            raise KeyError(f"fake corp: {member_id!r} is not in {chat_id}")
        group.members = kept
    corp.emit(
        _chat_event(
            chat_id,
            "update",
            UpdateDetail="del_member",
            QuitScene=quit_scene,
            MemChangeCnt=1,
            MemChangeList=[member_id],
        )
    )


def dismiss_group(corp: FakeCorp, chat_id: str) -> None:
    """change_external_chat dismiss."""
    with corp.lock:
        corp.groups[chat_id].dismissed = True
    corp.emit(_chat_event(chat_id, "dismiss"))


def tag_change(corp: FakeCorp, change_type: str, **kw: Any) -> str:
    """create (group_name, name) / update (id, name) / delete (id) a tag in the admin console."""
    with corp.lock:
        if change_type == "create":
            groups = [g for g in corp.tag_groups.values() if g.group_name == kw["group_name"]]
            if groups:
                group = groups[0]
                tag = FakeTag(corp.next_id("et"), kw["name"], group.group_id, int(corp.now()))
                corp.tags[tag.id] = tag
                group.tag_ids.append(tag.id)
            else:
                tag = corp.tags[corp.add_tag_group(kw["group_name"], [kw["name"]]).tag_ids[0]]
            ident = tag.id
        elif change_type == "update":
            ident = kw["id"]
            corp.tags[ident].name = kw.get("name", corp.tags[ident].name)
        elif change_type == "delete":
            ident = kw["id"]
            tag = corp.tags.pop(ident)
            group = corp.tag_groups[tag.group_id]
            group.tag_ids.remove(ident)
            for follows in corp.follows_by_user.values():
                for follow in follows.values():
                    if ident in follow.tag_ids:
                        follow.tag_ids.remove(ident)
        else:
            raise ValueError(f"simulate_tag_change: change_type {change_type!r} is not create/update/delete")
    corp.emit({"Event": "change_external_tag", "Id": ident, "TagType": "tag", "ChangeType": change_type})
    return ident


def transfer_fail(corp: FakeCorp, ext: str, reason: str) -> None:
    """transfer_fail with FailReason customer_refused (status 3) or customer_limit_exceed (status 4)."""
    if reason not in ("customer_refused", "customer_limit_exceed"):
        raise ValueError(f"simulate_transfer_fail: reason {reason!r}")
    with corp.lock:
        waiting = [t for t in corp.transfers if t.external_userid == ext and t.status == 2]
        if not waiting:
            raise KeyError(f"fake corp: no waiting transfer of {ext!r}")
        transfer = waiting[-1]
        transfer.status = 3 if reason == "customer_refused" else 4
    corp.emit(_contact_event("transfer_fail", transfer.takeover_userid, ext, FailReason=reason))


def confirm_groupmsg(corp: FakeCorp, msgid: str, userid: str) -> dict[int, int]:
    """The member sends: each recipient gets 1 (sent), 2 (no longer a friend) or 3 (over its receive cap)."""
    with corp.lock:
        template = corp.templates[msgid]
        if template.cancelled:
            raise ValueError(f"fake corp: mass send {msgid} was cancelled")
        task = template.tasks.get(userid)
        if task is None:
            raise KeyError(f"fake corp: {userid!r} has no task in {msgid}")
        if task[0] == 2:
            raise ValueError(f"fake corp: {userid!r} already sent {msgid}")
        now = int(corp.now())
        window, cap = receive_window(corp, now)
        counts = {1: 0, 2: 0, 3: 0}
        for target in template.recipients[userid]:
            if (template.chat_type == "single" and corp.follow(userid, target) is None) or (
                template.chat_type == "group" and (target not in corp.groups or corp.groups[target].dismissed)
            ):
                status = 2
            elif corp.receipts[(target, *window)] >= cap:
                status = 3
            else:
                status = 1
                corp.receipts[(target, *window)] += 1
            template.results[(userid, target)] = [status, now]
            counts[status] += 1
        task[0], task[1] = 2, now
        return counts


def publish_moment(corp: FakeCorp, key: str, userid: str) -> None:
    """publish_status 1 for the member on the job's (or moment's) moment."""
    with corp.lock:
        job = corp.moments.get(key) or corp.moment_jobs.get(key)
        if job is None:
            raise KeyError(f"fake corp: no moment or job {key!r}")
        if not job.moment_id:
            raise ValueError(f"fake corp: job {key} has not finished (poll get_moment_task_result first)")
        if userid not in job.publish:
            raise KeyError(f"fake corp: {userid!r} is not a sender of {job.moment_id}")
        job.publish[userid] = 1


def seed_corp(
    corp: FakeCorp,
    *,
    staff: int,
    customers: int,
    groups: int,
    seed: int,
    contact_ways: bool = False,
    userids: Sequence[str] = (),
) -> None:
    """Deterministic corp: staff0001…, 3 tag groups, customers following 1–3 members, remark mobiles, groups."""
    # contact_ways=True adds one multi-member 「联系我」 per seeded state, for the demo's simulated scans;
    # userids (e.g. the demo brand's Staff.wecom_userid values) replace the generated staff0001… names.
    rng = random.Random(seed)
    with corp.lock:
        corp.seed_value = seed
        now = int(corp.now())
        userids = list(userids) or [f"staff{i:04d}" for i in range(1, staff + 1)]
        for i, userid in enumerate(userids):
            corp.add_staff(userid, f"导购{i + 1:02d}")
        tag_ids: list[str] = []
        for group_name, names in (
            ("客户等级", ["新客", "复购", "VIP"]),
            ("兴趣", ["护肤", "彩妆", "香氛", "母婴"]),
            ("来源", ["门店", "直播", "包裹卡"]),
        ):
            tag_ids.extend(corp.add_tag_group(group_name, names).tag_ids)
        states = ["", "", "store_poster", "parcel_card", "live_room", "moments_ad"]
        for i in range(customers):
            name = (
                rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
            )
            unionid = f"oFake{seed}u{i:07d}" if rng.random() < 0.5 else ""
            ext = corp.add_contact(
                name, f"wmfake{seed}x{i:07d}", unionid=unionid, gender=rng.randint(0, 2)
            ).external_userid
            n_follows = 1 if rng.random() < 0.85 else rng.randint(2, min(3, len(userids)))
            for userid in rng.sample(userids, n_follows):
                mobiles = (
                    [f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"]
                    if rng.random() < 0.6
                    else []
                )
                corp.add_follow(
                    userid,
                    ext,
                    now - rng.randint(DAY_S, 365 * DAY_S),
                    add_way=rng.choice([1, 1, 1, 2, 3, 201]),
                    state=rng.choice(states),
                    remark=name if rng.random() < 0.3 else "",
                    remark_mobiles=mobiles,
                    tag_ids=rng.sample(tag_ids, rng.randint(0, 2)),
                )
        for g in range(groups):
            owner = userids[g % len(userids)]
            exts = list(corp.follows_by_user.get(owner, {}))
            members = rng.sample(exts, min(len(exts), rng.randint(3, 30)))
            chat = FakeGroupChat(
                f"wrfake{seed}g{g:05d}",
                f"{corp.staff[owner].name}的福利群{g + 1}",
                owner,
                now - rng.randint(DAY_S, 200 * DAY_S),
            )
            chat.members = [FakeGroupMember(owner, 1, chat.create_time, 1, name=corp.staff[owner].name)]
            for ext in members:
                chat.members.append(
                    FakeGroupMember(
                        ext,
                        2,
                        rng.randint(chat.create_time, now),
                        rng.choice([1, 2, 3]),
                        owner,
                        name=corp.contacts[ext].name,
                    )
                )
            corp.groups[chat.chat_id] = chat
        if contact_ways:
            for i, state in enumerate(s for s in states if s):
                users = userids[i % len(userids) :][:3] or userids[:1]
                way_id = f"cwfake{seed}s{i}"
                corp.contact_ways[way_id] = FakeContactWay(
                    way_id, 2, 2, f"https://wework.qpic.cn/wwpic/fake/{way_id}/0", state=state, user=users
                )


DAY_S = 86400
