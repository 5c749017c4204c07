"""Parse WeCom callback XML (the encrypted envelope and the decrypted event) with defusedxml."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from siyu.channels.wecom.crypto import CallbackCryptoError


def _parse_root(xml: bytes, what: str) -> Element:
    try:
        root = SafeET.fromstring(xml)
    except Exception as exc:  # defusedxml raises ParseError and its own DefusedXmlException family
        raise CallbackCryptoError(f"callback {what}: not well-formed XML ({exc.__class__.__name__})") from exc
    if root is None:
        raise CallbackCryptoError(f"callback {what}: empty XML")
    return root


@dataclass(frozen=True)
class Envelope:
    """The POSTed body before decryption: <ToUserName>, <AgentID>, <Encrypt>."""

    to_user: str | None
    agent_id: str | None
    encrypt: str


def parse_envelope(xml: bytes) -> Envelope:
    """Read the encrypted envelope of a POSTed callback."""
    root = _parse_root(xml, "envelope")
    encrypt = (root.findtext("Encrypt") or "").strip()
    if not encrypt:
        raise CallbackCryptoError("callback envelope: <Encrypt> is missing")
    return Envelope(to_user=root.findtext("ToUserName"), agent_id=root.findtext("AgentID"), encrypt=encrypt)


def _value(el: Element) -> Any:
    children = list(el)
    if not children:
        return (el.text or "").strip()
    repeated = len(children) > 1 and all(c.tag == children[0].tag for c in children)
    if repeated or children[0].tag == "Item":
        return [_value(c) for c in children]
    return {c.tag: _value(c) for c in children}


def _int(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _str(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) and value != "" else None


@dataclass(frozen=True)
class CallbackEvent:
    """One decrypted event; `raw` keeps every field as sent."""

    to_user: str | None
    create_time: int
    msg_type: str | None
    event: str | None
    change_type: str | None = None
    user_id: str | None = None
    external_user_id: str | None = None
    state: str | None = None
    welcome_code: str | None = None
    fail_reason: str | None = None
    source: str | None = None
    chat_id: str | None = None
    update_detail: str | None = None
    join_scene: int | None = None
    quit_scene: int | None = None
    mem_change_cnt: int | None = None
    mem_change_list: list[str] = field(default_factory=list)
    tag_id: str | None = None
    tag_type: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def dedupe_key(self) -> str:
        """A stable key for WeCom's retries: a hash of every field (a retry carries the same event XML)."""
        canonical = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_event(xml: bytes) -> CallbackEvent:
    """Parse a decrypted callback event into a CallbackEvent."""
    root = _parse_root(xml, "event")
    raw: dict[str, Any] = {child.tag: _value(child) for child in root}
    members = raw.get("MemChangeList")
    if isinstance(members, dict):
        member_list = [str(v) for v in members.values() if v]
    elif isinstance(members, list):
        member_list = [str(v) for v in members if v]
    elif isinstance(members, str) and members:
        member_list = [m for m in members.split(",") if m]
    else:
        member_list = []
    create_time = _int(raw, "CreateTime")
    if create_time is None:
        raise CallbackCryptoError("callback event: <CreateTime> is missing or not a number")
    return CallbackEvent(
        to_user=_str(raw, "ToUserName"),
        create_time=create_time,
        msg_type=_str(raw, "MsgType"),
        event=_str(raw, "Event") or _str(raw, "InfoType"),
        change_type=_str(raw, "ChangeType"),
        user_id=_str(raw, "UserID"),
        external_user_id=_str(raw, "ExternalUserID"),
        state=_str(raw, "State"),
        welcome_code=_str(raw, "WelcomeCode"),
        fail_reason=_str(raw, "FailReason"),
        source=_str(raw, "Source"),
        chat_id=_str(raw, "ChatId"),
        update_detail=_str(raw, "UpdateDetail"),
        join_scene=_int(raw, "JoinScene"),
        quit_scene=_int(raw, "QuitScene"),
        mem_change_cnt=_int(raw, "MemChangeCnt"),
        mem_change_list=member_list,
        tag_id=_str(raw, "Id"),
        tag_type=_str(raw, "TagType"),
        raw=raw,
    )
