"""Fake handlers: gettoken, follow users, external contacts, corp tags, contact ways, welcome messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fake_wecom.models import FakeContactWay, FakeFollow, FakeTag, FakeTagGroup
from fake_wecom.registry import (
    Args,
    FakeError,
    api,
    limit_arg,
    opt_int,
    opt_str,
    page,
    req_str,
    str_list,
)

if TYPE_CHECKING:
    from fake_wecom.corp import FakeCorp

Out = dict[str, Any]


@api("gettoken")
def gettoken(corp: FakeCorp, args: Args, now: float) -> Out:
    """corpid + corpsecret → access_token (40013 wrong corp, 40001 wrong secret)."""
    if opt_str(args, "corpid") != corp.corp_id:
        raise FakeError(40013, f"corpid {opt_str(args, 'corpid')!r}")
    if opt_str(args, "corpsecret") != corp.secret:
        raise FakeError(40001, "corpsecret does not match")
    token, ttl = corp.issue_token(now)
    return {"access_token": token, "expires_in": ttl}


@api("externalcontact/get_follow_user_list")
def get_follow_user_list(corp: FakeCorp, args: Args, now: float) -> Out:
    """Members with the customer-contact feature inside the visible range."""
    return {"follow_user": [s.userid for s in corp.staff.values() if s.contact_feature and s.visible]}


@api("externalcontact/list")
def list_external(corp: FakeCorp, args: Args, now: float) -> Out:
    """external_userid list of one member."""
    member = corp.require_staff(req_str(args, "userid"))
    if not member.contact_feature:
        raise FakeError(84061, f"{member.userid!r} has no customer-contact feature")
    return {"external_userid": list(corp.follows_by_user.get(member.userid, {}))}


@api("externalcontact/get")
def get_external(corp: FakeCorp, args: Args, now: float) -> Out:
    """One contact with its follow_user list, paged beyond follow_page_size with cursor."""
    contact = corp.require_contact(req_str(args, "external_userid"))
    follows = [
        f
        for f in corp.follows_by_ext.get(contact.external_userid, {}).values()
        if corp.staff[f.userid].visible
    ]
    if not follows:
        raise FakeError(84061, f"no member in range follows {contact.external_userid!r}")
    chunk, next_cursor = page(follows, opt_str(args, "cursor"), corp.follow_page_size)
    names = corp.tag_names()
    return {
        "external_contact": contact.as_dict(),
        "follow_user": [f.as_follow_info(names) for f in chunk],
        "next_cursor": next_cursor,
    }


@api("externalcontact/batch/get_by_user")
def batch_get_by_user(corp: FakeCorp, args: Args, now: float) -> Out:
    """Contacts + follow_info of ≤100 members, ≤100 per page, cursor paged."""
    userids = str_list(args, "userid_list", max_len=100)
    if not userids and args.get("userid"):
        userids = [req_str(args, "userid")]
    if not userids:
        raise FakeError(40058, "userid_list is required")
    limit = limit_arg(args, 50, 100)
    rows: list[FakeFollow] = []
    for userid in userids:
        corp.require_staff(userid)
        rows.extend(corp.follows_by_user.get(userid, {}).values())
    chunk, next_cursor = page(rows, opt_str(args, "cursor"), limit)
    return {
        "external_contact_list": [
            {
                "external_contact": corp.contacts[f.external_userid].as_dict(),
                "follow_info": f.as_follow_info(),
            }
            for f in chunk
        ],
        "next_cursor": next_cursor,
    }


def _group_out(group: FakeTagGroup, tags: list[FakeTag]) -> Out:
    return {
        "group_id": group.group_id,
        "group_name": group.group_name,
        "create_time": group.create_time,
        "order": group.order,
        "tag": [{"id": t.id, "name": t.name, "create_time": t.create_time, "order": t.order} for t in tags],
    }


@api("externalcontact/get_corp_tag_list")
def get_corp_tag_list(corp: FakeCorp, args: Args, now: float) -> Out:
    """All groups, or those named by group_id (wins), or those holding tag_id (only those tags)."""
    group_ids, tag_ids = str_list(args, "group_id"), str_list(args, "tag_id")
    out = []
    for group in corp.tag_groups.values():
        tags = [corp.tags[t] for t in group.tag_ids]
        if group_ids:
            if group.group_id not in group_ids:
                continue
        elif tag_ids:
            tags = [t for t in tags if t.id in tag_ids]
            if not tags:
                continue
        out.append(_group_out(group, tags))
    return {"tag_group": out}


@api("externalcontact/add_corp_tag")
def add_corp_tag(corp: FakeCorp, args: Args, now: float) -> Out:
    """Add tags to group_id, or create group_name (empty groups are refused; duplicate names → 40071)."""
    tag_specs = args.get("tag") or []
    if not isinstance(tag_specs, list) or not tag_specs:
        raise FakeError(40058, "tag must list at least one {name}")
    if len(corp.tags) + len(tag_specs) > 3000:
        raise FakeError(81017, "a corp holds at most 3000 tags")
    group_id = opt_str(args, "group_id")
    if group_id:
        group = corp.tag_groups.get(group_id)
        if group is None:
            raise FakeError(40068, f"group_id {group_id!r}")
    else:
        name = req_str(args, "group_name")
        found = [g for g in corp.tag_groups.values() if g.group_name == name]
        group = (
            found[0] if found else FakeTagGroup(corp.next_id("et"), name, int(now), opt_int(args, "order", 0))
        )
        corp.tag_groups[group.group_id] = group
    existing = {corp.tags[t].name for t in group.tag_ids}
    created = []
    for spec in tag_specs:
        name = str(spec.get("name", "")) if isinstance(spec, dict) else ""
        if not name or len(name) > 30:
            raise FakeError(40058, f"tag name {name!r} must be 1..30 characters")
        if name in existing:
            raise FakeError(40071, f"tag {name!r} already exists in {group.group_name!r}")
        tag = FakeTag(corp.next_id("et"), name, group.group_id, int(now), int(spec.get("order", 0) or 0))
        corp.tags[tag.id] = tag
        group.tag_ids.append(tag.id)
        existing.add(name)
        created.append(tag)
    return {"tag_group": _group_out(group, created)}


@api("externalcontact/edit_corp_tag")
def edit_corp_tag(corp: FakeCorp, args: Args, now: float) -> Out:
    """Rename/reorder a tag or a group (id is either)."""
    ident = req_str(args, "id")
    target: FakeTag | FakeTagGroup | None = corp.tags.get(ident) or corp.tag_groups.get(ident)
    if target is None:
        raise FakeError(40068, f"id {ident!r}")
    name = opt_str(args, "name")
    if isinstance(target, FakeTag):
        target.name = name or target.name
    else:
        target.group_name = name or target.group_name
    if "order" in args:
        target.order = opt_int(args, "order", 0)
    return {}


@api("externalcontact/del_corp_tag")
def del_corp_tag(corp: FakeCorp, args: Args, now: float) -> Out:
    """Delete tags and/or whole groups (a group left empty goes too); follows lose the tags."""
    tag_ids, group_ids = str_list(args, "tag_id"), str_list(args, "group_id")
    if not tag_ids and not group_ids:
        raise FakeError(40058, "tag_id and group_id are both empty")
    doomed = set(tag_ids)
    for gid in group_ids:
        if gid not in corp.tag_groups:
            raise FakeError(40068, f"group_id {gid!r}")
        doomed.update(corp.tag_groups[gid].tag_ids)
    for tid in doomed:
        tag = corp.tags.pop(tid, None)
        if tag is None:
            raise FakeError(40068, f"tag_id {tid!r}")
        group = corp.tag_groups[tag.group_id]
        group.tag_ids.remove(tid)
        if not group.tag_ids:
            del corp.tag_groups[group.group_id]
    for follows in corp.follows_by_user.values():
        for follow in follows.values():
            if doomed.intersection(follow.tag_ids):
                follow.tag_ids = [t for t in follow.tag_ids if t not in doomed]
    return {}


@api("externalcontact/mark_tag")
def mark_tag(corp: FakeCorp, args: Args, now: float) -> Out:
    """Add/remove corp tags on one follow relation."""
    userid, ext = req_str(args, "userid"), req_str(args, "external_userid")
    corp.require_staff(userid)
    corp.require_contact(ext)
    follow = corp.follow(userid, ext)
    if follow is None:
        raise FakeError(84061, f"{userid!r} does not follow {ext!r}")
    add, remove = str_list(args, "add_tag"), str_list(args, "remove_tag")
    if not add and not remove:
        raise FakeError(40058, "add_tag and remove_tag are both empty")
    for tid in add + remove:
        if tid not in corp.tags:
            raise FakeError(40068, f"tag {tid!r}")
    follow.tag_ids = [t for t in follow.tag_ids if t not in remove] + [
        t for t in add if t not in follow.tag_ids
    ]
    return {}


def _way_fields(corp: FakeCorp, args: Args, way: FakeContactWay) -> None:
    state = opt_str(args, "state", way.state)
    if len(state) > 30:
        raise FakeError(40058, f"state has {len(state)} characters, at most 30")
    remark = opt_str(args, "remark", way.remark)
    if len(remark) > 30:
        raise FakeError(40058, f"remark has {len(remark)} characters, at most 30")
    users = str_list(args, "user") if "user" in args else way.user
    for userid in users:
        corp.require_staff(userid)
    if way.type == 1 and len(users) != 1:
        raise FakeError(40058, "a single-member contact way (type 1) needs exactly one user")
    way.state, way.remark, way.user = state, remark, users
    way.style = opt_int(args, "style", way.style)
    if "skip_verify" in args:
        way.skip_verify = bool(args["skip_verify"])
    if "party" in args:
        way.party = [int(p) for p in args.get("party") or []]
    way.expires_in = opt_int(args, "expires_in", way.expires_in)


@api("externalcontact/add_contact_way")
def add_contact_way(corp: FakeCorp, args: Args, now: float) -> Out:
    """Create a 「联系我」 (type 1 single / 2 multi, scene 2 = QR code) → config_id, qr_code."""
    kind, scene = opt_int(args, "type", 0), opt_int(args, "scene", 0)
    if kind not in (1, 2) or scene not in (1, 2):
        raise FakeError(40058, f"type {kind} / scene {scene} must be 1 or 2")
    if not args.get("user") and not args.get("party"):
        raise FakeError(40058, "user and party are both empty")
    config_id = corp.next_id("cw")
    qr = f"https://wework.qpic.cn/wwpic/fake/{config_id}/0" if scene == 2 else ""
    way = FakeContactWay(config_id, kind, scene, qr, is_temp=bool(args.get("is_temp", False)))
    _way_fields(corp, args, way)
    corp.contact_ways[config_id] = way
    out: Out = {"config_id": config_id}
    if qr:
        out["qr_code"] = qr
    return out


def _way(corp: FakeCorp, args: Args) -> FakeContactWay:
    config_id = req_str(args, "config_id")
    way = corp.contact_ways.get(config_id)
    if way is None:
        raise FakeError(40058, f"config_id {config_id!r} does not exist")
    return way


@api("externalcontact/get_contact_way")
def get_contact_way(corp: FakeCorp, args: Args, now: float) -> Out:
    """One contact way's configuration."""
    way = _way(corp, args)
    return {
        "contact_way": {
            "config_id": way.config_id,
            "type": way.type,
            "scene": way.scene,
            "style": way.style,
            "remark": way.remark,
            "skip_verify": way.skip_verify,
            "state": way.state,
            "qr_code": way.qr_code,
            "user": list(way.user),
            "party": list(way.party),
            "is_temp": way.is_temp,
            "expires_in": way.expires_in,
        }
    }


@api("externalcontact/list_contact_way")
def list_contact_way(corp: FakeCorp, args: Args, now: float) -> Out:
    """config_ids, cursor paged (limit ≤1000)."""
    chunk, next_cursor = page(list(corp.contact_ways), opt_str(args, "cursor"), limit_arg(args, 100, 1000))
    return {"contact_way": [{"config_id": c} for c in chunk], "next_cursor": next_cursor}


@api("externalcontact/update_contact_way")
def update_contact_way(corp: FakeCorp, args: Args, now: float) -> Out:
    """Change remark, state, users… of a contact way."""
    _way_fields(corp, args, _way(corp, args))
    return {}


@api("externalcontact/del_contact_way")
def del_contact_way(corp: FakeCorp, args: Args, now: float) -> Out:
    """Delete a contact way (its QR code stops working)."""
    del corp.contact_ways[_way(corp, args).config_id]
    return {}


@api("externalcontact/send_welcome_msg")
def send_welcome_msg(corp: FakeCorp, args: Args, now: float) -> Out:
    """Use a WelcomeCode once, within welcome_window_seconds of the event (41051 otherwise)."""
    code = corp.welcome_codes.get(req_str(args, "welcome_code"))
    if code is None:
        raise FakeError(40058, "welcome_code was never issued")
    if code.used:
        raise FakeError(41051, "welcome_code already used")
    if now - code.issued_at > corp.welcome_window_seconds:
        raise FakeError(41051, f"welcome_code expired ({now - code.issued_at:.1f} s after the event)")
    text = args.get("text") or {}
    attachments = args.get("attachments") or []
    content = str(text.get("content", "")) if isinstance(text, dict) else ""
    if not content and not attachments:
        raise FakeError(40058, "text and attachments are both empty")
    if len(attachments) > 9:
        raise FakeError(81017, "at most 9 attachments")
    code.used = True
    corp.welcomes_sent.append(
        {
            "welcome_code": code.code,
            "userid": code.userid,
            "external_userid": code.external_userid,
            "text": content,
            "attachments": attachments,
            "seconds_after_event": now - code.issued_at,
        }
    )
    return {}
