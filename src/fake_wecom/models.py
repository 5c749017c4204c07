"""The fake corp's in-memory records."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeStaff:
    """A corp member; contact_feature = in the follow-user list; console_welcome = no WelcomeCode pushed."""

    userid: str
    name: str
    contact_feature: bool = True
    visible: bool = True
    resigned: bool = False
    console_welcome: bool = False


@dataclass
class FakeContact:
    """An external contact (a WeChat user, type 1)."""

    external_userid: str
    name: str
    type: int = 1
    gender: int = 0
    unionid: str = ""
    avatar: str = ""
    corp_name: str = ""

    def as_dict(self) -> dict[str, object]:
        """The external_contact object of the API."""
        out: dict[str, object] = {
            "external_userid": self.external_userid,
            "name": self.name,
            "type": self.type,
            "gender": self.gender,
            "avatar": self.avatar,
        }
        if self.unionid:
            out["unionid"] = self.unionid
        if self.corp_name:
            out["corp_name"] = self.corp_name
        return out


@dataclass
class FakeFollow:
    """One follow relation (member ↔ external contact)."""

    userid: str
    external_userid: str
    createtime: int
    add_way: int = 1
    state: str = ""
    remark: str = ""
    description: str = ""
    remark_corp_name: str = ""
    remark_mobiles: list[str] = field(default_factory=list)
    tag_ids: list[str] = field(default_factory=list)
    oper_userid: str = ""

    def as_follow_info(self, tag_names: dict[str, tuple[str, str]] | None = None) -> dict[str, object]:
        """follow_info (batch/get_by_user) or, with tag_names, a follow_user entry (get)."""
        out: dict[str, object] = {
            "userid": self.userid,
            "remark": self.remark,
            "description": self.description,
            "createtime": self.createtime,
            "remark_corp_name": self.remark_corp_name,
            "remark_mobiles": list(self.remark_mobiles),
            "oper_userid": self.oper_userid or self.external_userid,
            "add_way": self.add_way,
        }
        if self.state:
            out["state"] = self.state
        if tag_names is None:
            out["tag_id"] = list(self.tag_ids)
        else:
            out["tags"] = [
                {"group_name": tag_names[t][0], "tag_name": tag_names[t][1], "tag_id": t, "type": 1}
                for t in self.tag_ids
                if t in tag_names
            ]
        return out


@dataclass
class FakeTag:
    """A corp tag."""

    id: str
    name: str
    group_id: str
    create_time: int
    order: int = 0


@dataclass
class FakeTagGroup:
    """A corp tag group."""

    group_id: str
    group_name: str
    create_time: int
    order: int = 0
    tag_ids: list[str] = field(default_factory=list)


@dataclass
class FakeContactWay:
    """A 「联系我」 configuration."""

    config_id: str
    type: int
    scene: int
    qr_code: str
    style: int = 1
    remark: str = ""
    skip_verify: bool = True
    state: str = ""
    user: list[str] = field(default_factory=list)
    party: list[int] = field(default_factory=list)
    is_temp: bool = False
    expires_in: int = 0
    scans: int = 0


@dataclass
class FakeWelcomeCode:
    """A WelcomeCode pushed with add_external_contact: valid 20 s, once."""

    code: str
    userid: str
    external_userid: str
    issued_at: float
    used: bool = False


@dataclass
class FakeGroupMember:
    """A group chat member (type 1 = corp member, 2 = external)."""

    userid: str
    type: int
    join_time: int
    join_scene: int = 1
    invitor_userid: str = ""
    unionid: str = ""
    group_nickname: str = ""
    name: str = ""


@dataclass
class FakeGroupChat:
    """A customer group chat."""

    chat_id: str
    name: str
    owner: str
    create_time: int
    notice: str = ""
    members: list[FakeGroupMember] = field(default_factory=list)
    admin_list: list[str] = field(default_factory=list)
    status: int = 0
    dismissed: bool = False


@dataclass
class FakeMsgTemplate:
    """One add_msg_template with per-member tasks and per-recipient results."""

    # tasks[userid] = [status 0 not sent | 2 sent, send_time]; results[(userid, target)] = [status, send_time]
    # with status 0 not sent, 1 sent, 2 not a friend, 3 over the receive limit.
    msgid: str
    chat_type: str
    creator: str
    create_type: int
    create_time: int
    text: str
    attachments: list[dict[str, object]]
    recipients: dict[str, list[str]]
    tasks: dict[str, list[int]] = field(default_factory=dict)
    results: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    reminders: list[float] = field(default_factory=list)
    cancelled: bool = False


@dataclass
class FakeMomentJob:
    """An add_moment_task job and, once done, its moment (publish_status per sender)."""

    jobid: str
    text: str
    attachments: list[dict[str, object]]
    senders: list[str]
    tag_ids: list[str]
    created_at: int
    polls: int = 0
    moment_id: str = ""
    invalid_sender_list: list[str] = field(default_factory=list)
    invalid_external_contact_list: list[str] = field(default_factory=list)
    publish: dict[str, int] = field(default_factory=dict)


@dataclass
class FakeTransfer:
    """A customer transfer; status 1 done, 2 waiting, 3 refused, 4 takeover at its customer limit."""

    handover_userid: str
    takeover_userid: str
    external_userid: str
    requested_at: float
    resigned: bool
    status: int = 2
    takeover_time: int = 0


@dataclass
class CallRecord:
    """One API call the fake answered."""

    api: str
    at: float
    errcode: int
