"""Pydantic models of WeCom API requests and answers; unknown fields are ignored, times are raw epoch seconds."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# WeCom cuts statistics days at Beijing midnight, whatever the brand's zone.
WECOM_TZ = ZoneInfo("Asia/Shanghai")


def day_to_epoch(day: date) -> int:
    """Epoch seconds of 00:00 Beijing time on `day` (how WeCom statistics APIs name a day)."""
    return int(datetime.combine(day, time(0), tzinfo=WECOM_TZ).timestamp())


def epoch_to_day(ts: int) -> date:
    """The Beijing calendar day an epoch second falls in (e.g. a behaviour row's stat_time)."""
    return datetime.fromtimestamp(ts, tz=WECOM_TZ).date()


def day_span(start: date, end: date) -> int:
    """Days in the closed range [start, end]."""
    return (end - start) // timedelta(days=1) + 1


class WecomModel(BaseModel):
    """Base of every WeCom answer model: extra fields ignored, None tolerated where WeCom omits keys."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _none_to_empty_list(value: Any) -> Any:
    return [] if value is None else value


def _blank_to_none(value: Any) -> Any:
    # WeCom sends "" for a missing unionid; None keeps "no identity" unambiguous.
    return None if value == "" else value


def _content(value: Any) -> Any:
    # WeCom nests text as {"content": "..."}; the models keep the string.
    if isinstance(value, dict):
        return value.get("content") or ""
    return "" if value is None else value


# --- contacts -----------------------------------------------------------------------------------


class ExternalContact(WecomModel):
    """A customer (外部联系人) as WeCom describes it."""

    external_userid: str
    name: str = ""
    avatar: str = ""
    type: int = 1  # 1 = WeChat user, 2 = WeCom user
    gender: int = 0
    unionid: str | None = None
    position: str | None = None
    corp_name: str | None = None
    corp_full_name: str | None = None

    unionid_blank_is_none = field_validator("unionid", mode="before")(_blank_to_none)


class FollowTag(WecomModel):
    """A tag on a follow relation as externalcontact/get returns it."""

    tag_id: str | None = None
    group_name: str = ""
    tag_name: str = ""
    type: int = 1  # 1 = corp tag, 2 = the member's personal tag, 3 = rule-group tag


class FollowInfo(WecomModel):
    """One member's relation to a customer (follow_info of batch/get_by_user, follow_user[] of get)."""

    userid: str
    remark: str = ""
    description: str = ""
    createtime: int = 0
    tag_id: list[str] = Field(default_factory=list)
    remark_corp_name: str = ""
    remark_mobiles: list[str] = Field(default_factory=list)
    oper_userid: str = ""
    add_way: int = 0
    state: str = ""

    lists_not_none = field_validator("tag_id", "remark_mobiles", mode="before")(_none_to_empty_list)

    @model_validator(mode="before")
    @classmethod
    def _tags_from_get(cls, data: Any) -> Any:
        # externalcontact/get gives tags[] with tag_id per corp tag instead of batch's tag_id[].
        if isinstance(data, dict) and "tag_id" not in data and data.get("tags"):
            data = dict(data)
            data["tag_id"] = [
                t["tag_id"]
                for t in data["tags"]
                if isinstance(t, dict) and t.get("tag_id") and t.get("type", 1) == 1
            ]
        return data


class ContactWithFollow(WecomModel):
    """One (customer, member) pair of batch/get_by_user."""

    external_contact: ExternalContact
    follow_info: FollowInfo


class ExternalContactDetail(WecomModel):
    """externalcontact/get: the customer and every member following it (all pages)."""

    external_contact: ExternalContact
    follow_user: list[FollowInfo] = Field(default_factory=list)

    def rows(self) -> list[ContactWithFollow]:
        """The detail as batch-style rows, one per following member (what contacts.upsert_contacts takes)."""
        return [
            ContactWithFollow(external_contact=self.external_contact, follow_info=f) for f in self.follow_user
        ]

    def follow_of(self, userid: str) -> FollowInfo | None:
        """The follow relation of one member, if it exists."""
        return next((f for f in self.follow_user if f.userid == userid), None)


class ContactPage(WecomModel):
    """One page of batch/get_by_user."""

    items: list[ContactWithFollow] = Field(default_factory=list)
    next_cursor: str = ""


# --- corp tags ----------------------------------------------------------------------------------


class CorpTag(WecomModel):
    """A corp tag (企业标签)."""

    id: str
    name: str
    create_time: int = 0
    order: int = 0
    deleted: bool = False


class CorpTagGroup(WecomModel):
    """A corp tag group with its tags."""

    group_id: str
    group_name: str = ""
    create_time: int = 0
    order: int = 0
    deleted: bool = False
    tag: list[CorpTag] = Field(default_factory=list)

    lists_not_none = field_validator("tag", mode="before")(_none_to_empty_list)


# --- contact ways (活码) ------------------------------------------------------------------------


class ContactWayRequest(WecomModel):
    """Body of add_contact_way (and the updatable subset for update_contact_way)."""

    type: int = 1  # 1 = single member, 2 = several members
    scene: int = 2  # 1 = mini-program, 2 = QR code
    style: int | None = None
    remark: str = Field(default="", max_length=30)
    skip_verify: bool = True
    state: str = Field(default="", max_length=30)
    user: list[str] = Field(default_factory=list)
    party: list[int] = Field(default_factory=list)
    is_temp: bool = False
    expires_in: int | None = None

    def body(self) -> dict[str, Any]:
        """The JSON body WeCom expects (unset optional keys left out)."""
        out = self.model_dump(exclude_none=True)
        if not out["party"]:
            out.pop("party")
        if not out["is_temp"]:
            out.pop("is_temp")
            out.pop("expires_in", None)
        return out


class ContactWayCreated(WecomModel):
    """Answer of add_contact_way; qr_code only for scene 2."""

    config_id: str
    qr_code: str | None = None


class ContactWay(WecomModel):
    """A 「联系我」 configuration as get_contact_way returns it."""

    config_id: str
    type: int = 1
    scene: int = 2
    style: int | None = None
    remark: str = ""
    skip_verify: bool = True
    state: str = ""
    qr_code: str | None = None
    user: list[str] = Field(default_factory=list)
    party: list[int] = Field(default_factory=list)
    is_temp: bool = False
    expires_in: int | None = None

    lists_not_none = field_validator("user", "party", mode="before")(_none_to_empty_list)


# --- mass sends (企业群发) ----------------------------------------------------------------------


class MsgTemplateRequest(WecomModel):
    """Body of add_msg_template: one sender's mass send to customers (single) or groups (group)."""

    chat_type: str = "single"
    external_userid: list[str] = Field(default_factory=list, max_length=10_000)
    chat_id_list: list[str] = Field(default_factory=list, max_length=2_000)
    sender: str | None = None
    text: str = ""
    attachments: list[dict[str, Any]] = Field(default_factory=list, max_length=9)
    allow_select: bool = False

    @field_validator("chat_type")
    @classmethod
    def _chat_type(cls, value: str) -> str:
        if value not in ("single", "group"):
            raise ValueError(f"chat_type must be 'single' or 'group', got {value!r}")
        return value

    def body(self) -> dict[str, Any]:
        """The JSON body WeCom expects."""
        out: dict[str, Any] = {"chat_type": self.chat_type, "allow_select": self.allow_select}
        if self.external_userid:
            out["external_userid"] = self.external_userid
        if self.chat_id_list:
            out["chat_id_list"] = self.chat_id_list
        if self.sender:
            out["sender"] = self.sender
        if self.text:
            out["text"] = {"content": self.text}
        if self.attachments:
            out["attachments"] = self.attachments
        return out


class MsgTemplateCreated(WecomModel):
    """Answer of add_msg_template: the platform msgid and the recipients WeCom refused."""

    msgid: str
    fail_list: list[str] = Field(default_factory=list)

    lists_not_none = field_validator("fail_list", mode="before")(_none_to_empty_list)


class GroupMsg(WecomModel):
    """One mass-send record of get_groupmsg_list_v2."""

    msgid: str
    creator: str = ""
    create_time: int = 0
    create_type: int = 0  # 0 = by the corp, 1 = by a member
    text: str = ""
    attachments: list[dict[str, Any]] = Field(default_factory=list)

    text_content = field_validator("text", mode="before")(_content)
    lists_not_none = field_validator("attachments", mode="before")(_none_to_empty_list)


class GroupMsgPage(WecomModel):
    """One page of get_groupmsg_list_v2."""

    items: list[GroupMsg] = Field(default_factory=list)
    next_cursor: str = ""


class GroupMsgTask(WecomModel):
    """A member's task of a mass send: status 0 = not sent, 2 = sent."""

    userid: str
    status: int = 0
    send_time: int | None = None


class GroupMsgTaskPage(WecomModel):
    """One page of get_groupmsg_task."""

    items: list[GroupMsgTask] = Field(default_factory=list)
    next_cursor: str = ""


class GroupMsgSendResult(WecomModel):
    """Per recipient: status 0 = not sent, 1 = sent, 2 = not a friend, 3 = over the receive limit."""

    external_userid: str | None = None
    chat_id: str | None = None
    userid: str = ""
    status: int = 0
    send_time: int | None = None


class GroupMsgSendPage(WecomModel):
    """One page of get_groupmsg_send_result."""

    items: list[GroupMsgSendResult] = Field(default_factory=list)
    next_cursor: str = ""


# --- customer groups (客户群) -------------------------------------------------------------------


class GroupChatRef(WecomModel):
    """A group chat id from groupchat/list; status 0 = normal, 1-3 = resigned-handover states."""

    chat_id: str
    status: int = 0


class GroupChatPage(WecomModel):
    """One page of groupchat/list."""

    items: list[GroupChatRef] = Field(default_factory=list)
    next_cursor: str = ""


class GroupMember(WecomModel):
    """A member of a group chat: type 1 = corp member, 2 = external contact."""

    userid: str
    type: int = 2
    unionid: str | None = None
    join_time: int = 0
    join_scene: int = 0  # 1 = direct invite, 2 = invite link, 3 = QR code
    invitor_userid: str | None = None
    group_nickname: str = ""
    name: str = ""

    blanks_are_none = field_validator("unionid", "invitor_userid", mode="before")(_blank_to_none)

    @model_validator(mode="before")
    @classmethod
    def _flatten_invitor(cls, data: Any) -> Any:
        if isinstance(data, dict) and "invitor_userid" not in data and isinstance(data.get("invitor"), dict):
            data = dict(data)
            data["invitor_userid"] = data["invitor"].get("userid")
        return data


class GroupChat(WecomModel):
    """groupchat/get: a customer group with its members; admin_list holds userids."""

    chat_id: str
    name: str = ""
    owner: str = ""
    create_time: int = 0
    notice: str = ""
    member_list: list[GroupMember] = Field(default_factory=list)
    admin_list: list[str] = Field(default_factory=list)

    lists_not_none = field_validator("member_list", mode="before")(_none_to_empty_list)

    @field_validator("admin_list", mode="before")
    @classmethod
    def _admins(cls, value: Any) -> Any:
        if value is None:
            return []
        return [a.get("userid", "") if isinstance(a, dict) else a for a in value]


class GroupStatData(WecomModel):
    """groupchat/statistic figures of one owner over the asked range."""

    new_chat_cnt: int = 0
    chat_total: int = 0
    chat_has_msg: int = 0
    new_member_cnt: int = 0
    member_total: int = 0
    member_has_msg: int = 0
    msg_total: int = 0
    migrate_trainee_chat_cnt: int = 0


class GroupStatItem(WecomModel):
    """One owner's row of groupchat/statistic."""

    owner: str
    data: GroupStatData = Field(default_factory=GroupStatData)


class GroupStatPage(WecomModel):
    """One page of groupchat/statistic (offset paging)."""

    total: int = 0
    next_offset: int = 0
    items: list[GroupStatItem] = Field(default_factory=list)


# --- behaviour statistics -----------------------------------------------------------------------


class BehaviorRow(WecomModel):
    """One day of get_user_behavior_data; reply figures are absent on days without chats."""

    stat_time: int
    chat_cnt: int = 0
    message_cnt: int = 0
    reply_percentage: float | None = None
    avg_reply_time: int | None = None  # minutes
    negative_feedback_cnt: int = 0
    new_apply_cnt: int = 0
    new_contact_cnt: int = 0

    @property
    def day(self) -> date:
        """The Beijing day this row counts."""
        return epoch_to_day(self.stat_time)


# --- moments (客户朋友圈) ------------------------------------------------------------------------


class MomentTaskRequest(WecomModel):
    """A moment for some members to publish, visible to customers with any of tag_ids (all when empty)."""

    text: str = Field(default="", max_length=2000)
    attachments: list[dict[str, Any]] = Field(default_factory=list, max_length=9)
    sender_userids: list[str] = Field(default_factory=list)
    tag_ids: list[str] = Field(default_factory=list)

    def body(self) -> dict[str, Any]:
        """The JSON body WeCom expects."""
        out: dict[str, Any] = {}
        if self.text:
            out["text"] = {"content": self.text}
        if self.attachments:
            out["attachments"] = self.attachments
        visible: dict[str, Any] = {}
        if self.sender_userids:
            visible["sender_list"] = {"user_list": self.sender_userids}
        if self.tag_ids:
            visible["external_contact_list"] = {"tag_list": self.tag_ids}
        if visible:
            out["visible_range"] = visible
        return out


class MomentTaskResult(WecomModel):
    """get_moment_task_result flattened: status 1 = started, 2 = running, 3 = done; moment_id once done."""

    status: int = 0
    moment_id: str | None = None
    invalid_sender_list: list[str] = Field(default_factory=list)
    invalid_external_contact_list: list[str] = Field(default_factory=list)
    errcode: int = 0
    errmsg: str = ""


class MomentStaffTask(WecomModel):
    """A member's publish state of a moment: 0 = not published, 1 = published."""

    userid: str
    publish_status: int = 0


class MomentTaskPage(WecomModel):
    """One page of get_moment_task."""

    items: list[MomentStaffTask] = Field(default_factory=list)
    next_cursor: str = ""


# --- transfers (在职/离职继承) -------------------------------------------------------------------


class TransferItem(WecomModel):
    """Per customer answer of a transfer request: errcode 0 = the handover started."""

    external_userid: str
    errcode: int = 0


class TransferResultItem(WecomModel):
    """Per customer: status 1 = done, 2 = waiting, 3 = refused, 4 = takeover member full, 5 = no relation."""

    external_userid: str
    status: int = 0
    takeover_time: int | None = None


class TransferResultPage(WecomModel):
    """One page of transfer_result / resigned/transfer_result."""

    items: list[TransferResultItem] = Field(default_factory=list)
    next_cursor: str = ""
