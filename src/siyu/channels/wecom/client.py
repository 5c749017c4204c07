"""Synchronous httpx client of the WeCom 客户联系 server API: typed requests and answers per endpoint."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from functools import partial
from typing import Any

from siyu.channels.wecom.errors import NotFriend
from siyu.channels.wecom.http import (
    TRANSFER_BATCH,
    USERID_BATCH,
    WecomHttp,
    chunks,
    epoch_of,
)
from siyu.channels.wecom.ratelimit import RateLimiter
from siyu.channels.wecom.schemas import (
    BehaviorRow,
    ContactPage,
    ContactWay,
    ContactWayCreated,
    ContactWayRequest,
    CorpTagGroup,
    ExternalContactDetail,
    FollowInfo,
    GroupChat,
    GroupChatPage,
    GroupMsgPage,
    GroupMsgSendPage,
    GroupMsgTaskPage,
    GroupStatPage,
    MomentTaskPage,
    MomentTaskRequest,
    MomentTaskResult,
    MsgTemplateCreated,
    MsgTemplateRequest,
    TransferItem,
    TransferResultPage,
    day_to_epoch,
)
from siyu.channels.wecom.tokens import TokenCache
from siyu.models.wecom import OFFICIAL_API_BASE_URL

__all__ = ["OFFICIAL_API_BASE_URL", "RateLimiter", "TokenCache", "WecomClient"]


class WecomClient(WecomHttp):
    """Typed methods of the 客户联系 APIs; see WecomHttp for tokens, limits, retries and logging."""

    # --- members and contacts -------------------------------------------------------------------

    def get_follow_user_list(self) -> list[str]:
        """Userids of the members with the 客户联系 feature."""
        data = self.call("externalcontact/get_follow_user_list", method="GET")
        return [str(u) for u in data.get("follow_user") or []]

    def list_external_contacts(self, userid: str) -> list[str]:
        """External userids of one member's customers (empty when the member has none)."""
        try:
            data = self.call("externalcontact/list", method="GET", params={"userid": userid})
        except NotFriend:
            return []
        return [str(u) for u in data.get("external_userid") or []]

    def get_external_contact(self, external_userid: str) -> ExternalContactDetail:
        """A customer with every following member (follow_user pages joined)."""
        contact: Any = None
        follows: list[FollowInfo] = []

        def fetch(cursor: str) -> ContactPage:
            nonlocal contact
            params = {"external_userid": external_userid}
            if cursor:
                params["cursor"] = cursor
            data = self.call("externalcontact/get", method="GET", params=params)
            contact = data.get("external_contact")
            follows.extend(FollowInfo.model_validate(f) for f in data.get("follow_user") or [])
            return ContactPage(next_cursor=data.get("next_cursor") or "")

        for _ in self._pages(fetch):
            pass
        return ExternalContactDetail.model_validate({"external_contact": contact, "follow_user": follows})

    def batch_get_by_user(self, userids: Sequence[str], cursor: str = "", limit: int = 100) -> ContactPage:
        """One page of the customers of up to 100 members (one item per (customer, member))."""
        if not userids or len(userids) > USERID_BATCH:
            raise ValueError(f"batch_get_by_user takes 1..{USERID_BATCH} userids, got {len(userids)}")
        body = {"userid_list": list(userids), "cursor": cursor, "limit": min(max(limit, 1), 100)}
        data = self.call("externalcontact/batch/get_by_user", body=body)
        return ContactPage.model_validate(
            {"items": data.get("external_contact_list") or [], "next_cursor": data.get("next_cursor") or ""}
        )

    def iter_contacts_by_user(self, userids: Sequence[str], limit: int = 100) -> Iterator[ContactPage]:
        """Every page of the members' customers, 100 userids per request series."""
        for chunk in chunks(userids, USERID_BATCH):
            yield from self._pages(partial(self._contacts_page, chunk, limit))

    def _contacts_page(self, userids: list[str], limit: int, cursor: str) -> ContactPage:
        return self.batch_get_by_user(userids, cursor, limit)

    # --- corp tags ------------------------------------------------------------------------------

    def get_corp_tag_list(
        self, tag_ids: Sequence[str] = (), group_ids: Sequence[str] = ()
    ) -> list[CorpTagGroup]:
        """Corp tag groups (all when both filters are empty; group_ids wins when both are given)."""
        body: dict[str, Any] = {}
        if tag_ids:
            body["tag_id"] = list(tag_ids)
        if group_ids:
            body["group_id"] = list(group_ids)
        data = self.call("externalcontact/get_corp_tag_list", body=body)
        return [CorpTagGroup.model_validate(g) for g in data.get("tag_group") or []]

    def add_corp_tag(
        self,
        *,
        tags: Sequence[str],
        group_id: str | None = None,
        group_name: str | None = None,
        order: int = 0,
    ) -> CorpTagGroup:
        """Create tags in an existing group (group_id) or a new one (group_name); the group with the new tags."""
        if not tags:
            raise ValueError("add_corp_tag needs at least one tag name (WeCom refuses empty groups)")
        if not group_id and not group_name:
            raise ValueError("add_corp_tag needs group_id or group_name")
        body: dict[str, Any] = {"tag": [{"name": name} for name in tags]}
        if group_id:
            body["group_id"] = group_id
        else:
            body["group_name"] = group_name
            body["order"] = order
        data = self.call("externalcontact/add_corp_tag", body=body)
        return CorpTagGroup.model_validate(data.get("tag_group") or {})

    def edit_corp_tag(self, tag_id: str, *, name: str | None = None, order: int | None = None) -> None:
        """Rename or reorder a tag or tag group (by its id)."""
        body: dict[str, Any] = {"id": tag_id}
        if name is not None:
            body["name"] = name
        if order is not None:
            body["order"] = order
        self.call("externalcontact/edit_corp_tag", body=body)

    def del_corp_tag(self, tag_ids: Sequence[str] = (), group_ids: Sequence[str] = ()) -> None:
        """Delete tags and/or whole groups."""
        if not tag_ids and not group_ids:
            raise ValueError("del_corp_tag needs tag_ids or group_ids")
        self.call("externalcontact/del_corp_tag", body={"tag_id": list(tag_ids), "group_id": list(group_ids)})

    def mark_tag(
        self, userid: str, external_userid: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        """Add / remove corp tags on a member's customer (no call when both are empty)."""
        if not add and not remove:
            return
        body = {
            "userid": userid,
            "external_userid": external_userid,
            "add_tag": list(add),
            "remove_tag": list(remove),
        }
        self.call("externalcontact/mark_tag", body=body)

    # --- contact ways (活码) and welcome -------------------------------------------------------

    def add_contact_way(self, request: ContactWayRequest) -> ContactWayCreated:
        """Create a 「联系我」 configuration; store config_id, WeCom cannot list API-created ones."""
        data = self.call("externalcontact/add_contact_way", body=request.body())
        return ContactWayCreated.model_validate(data)

    def get_contact_way(self, config_id: str) -> ContactWay:
        """One 「联系我」 configuration."""
        data = self.call("externalcontact/get_contact_way", body={"config_id": config_id})
        return ContactWay.model_validate(data.get("contact_way") or {})

    def update_contact_way(
        self,
        config_id: str,
        request: ContactWayRequest | None = None,
        *,
        remark: str | None = None,
        skip_verify: bool | None = None,
        style: int | None = None,
        state: str | None = None,
        user: Sequence[str] | None = None,
        party: Sequence[int] | None = None,
        expires_in: int | None = None,
    ) -> None:
        """Change a configuration: the updatable fields of request, overridden by the keyword arguments."""
        body: dict[str, Any] = {}
        if request is not None:
            body.update(
                remark=request.remark,
                skip_verify=request.skip_verify,
                state=request.state,
                user=list(request.user),
            )
            if request.style is not None:
                body["style"] = request.style
            if request.party:
                body["party"] = list(request.party)
            if request.is_temp and request.expires_in is not None:
                body["expires_in"] = request.expires_in
        overrides = {"remark": remark, "skip_verify": skip_verify, "style": style, "state": state}
        body.update({k: v for k, v in overrides.items() if v is not None})
        if user is not None:
            body["user"] = list(user)
        if party is not None:
            body["party"] = list(party)
        if expires_in is not None:
            body["expires_in"] = expires_in
        body["config_id"] = config_id
        self.call("externalcontact/update_contact_way", body=body)

    def del_contact_way(self, config_id: str) -> None:
        """Delete a configuration (its QR code stops working)."""
        self.call("externalcontact/del_contact_way", body={"config_id": config_id})

    def send_welcome_msg(
        self, welcome_code: str, text: str, attachments: Sequence[dict[str, Any]] = ()
    ) -> None:
        """Send the welcome of an add event; valid once, within 20 s of the event (41051 → WelcomeCodeUsed)."""
        if not text and not attachments:
            raise ValueError("send_welcome_msg needs text or attachments")
        body: dict[str, Any] = {"welcome_code": welcome_code}
        if text:
            body["text"] = {"content": text}
        if attachments:
            body["attachments"] = list(attachments)
        # In WRITE_ONCE_APIS: never resent after a timeout, the code is single-use.
        self.call("externalcontact/send_welcome_msg", body=body)

    # --- mass sends (企业群发) -----------------------------------------------------------------

    def add_msg_template(self, request: MsgTemplateRequest) -> MsgTemplateCreated:
        """Create a mass-send task for the sender to confirm in the client."""
        data = self.call("externalcontact/add_msg_template", body=request.body())
        return MsgTemplateCreated.model_validate(data)

    def get_groupmsg_list_v2(
        self,
        chat_type: str,
        start_time: int | datetime | date,
        end_time: int | datetime | date,
        creator: str | None = None,
        filter_type: int = 2,
        cursor: str = "",
        limit: int = 100,
    ) -> GroupMsgPage:
        """One page of mass-send records created in [start_time, end_time] (range ≤ 1 month)."""
        body: dict[str, Any] = {
            "chat_type": chat_type,
            "start_time": epoch_of(start_time),
            "end_time": epoch_of(end_time),
            "filter_type": filter_type,
            "cursor": cursor,
            "limit": min(max(limit, 1), 100),
        }
        if creator:
            body["creator"] = creator
        data = self.call("externalcontact/get_groupmsg_list_v2", body=body)
        return GroupMsgPage.model_validate(
            {"items": data.get("group_msg_list") or [], "next_cursor": data.get("next_cursor") or ""}
        )

    def iter_groupmsg_list_v2(
        self,
        chat_type: str,
        start_time: int | datetime | date,
        end_time: int | datetime | date,
        creator: str | None = None,
        filter_type: int = 2,
    ) -> Iterator[GroupMsgPage]:
        """Every page of get_groupmsg_list_v2."""
        return self._pages(
            lambda cursor: self.get_groupmsg_list_v2(
                chat_type, start_time, end_time, creator, filter_type, cursor
            )
        )

    def get_groupmsg_task(self, msgid: str, cursor: str = "", limit: int = 1000) -> GroupMsgTaskPage:
        """One page of the per-member tasks of a mass send."""
        body = {"msgid": msgid, "cursor": cursor, "limit": min(max(limit, 1), 1000)}
        data = self.call("externalcontact/get_groupmsg_task", body=body)
        return GroupMsgTaskPage.model_validate(
            {"items": data.get("task_list") or [], "next_cursor": data.get("next_cursor") or ""}
        )

    def iter_groupmsg_task(self, msgid: str) -> Iterator[GroupMsgTaskPage]:
        """Every page of get_groupmsg_task."""
        return self._pages(lambda cursor: self.get_groupmsg_task(msgid, cursor))

    def get_groupmsg_send_result(
        self, msgid: str, userid: str, cursor: str = "", limit: int = 1000
    ) -> GroupMsgSendPage:
        """One page of one member's per-recipient results of a mass send."""
        body = {"msgid": msgid, "userid": userid, "cursor": cursor, "limit": min(max(limit, 1), 1000)}
        data = self.call("externalcontact/get_groupmsg_send_result", body=body)
        return GroupMsgSendPage.model_validate(
            {"items": data.get("send_list") or [], "next_cursor": data.get("next_cursor") or ""}
        )

    def iter_groupmsg_send_result(self, msgid: str, userid: str) -> Iterator[GroupMsgSendPage]:
        """Every page of get_groupmsg_send_result."""
        return self._pages(lambda cursor: self.get_groupmsg_send_result(msgid, userid, cursor))

    def remind_groupmsg_send(self, msgid: str) -> None:
        """Remind the members who have not confirmed a mass send (≤ 3 per 24 h)."""
        self.call("externalcontact/remind_groupmsg_send", body={"msgid": msgid})

    def cancel_groupmsg_send(self, msgid: str) -> None:
        """Stop a mass send for the members who have not confirmed it."""
        self.call("externalcontact/cancel_groupmsg_send", body={"msgid": msgid})

    # --- customer groups ------------------------------------------------------------------------

    def list_group_chats(
        self, owner_userids: Sequence[str] = (), status_filter: int = 0, cursor: str = "", limit: int = 1000
    ) -> GroupChatPage:
        """One page of group chat ids, filtered by up to 100 owners."""
        if len(owner_userids) > USERID_BATCH:
            raise ValueError(
                f"list_group_chats takes at most {USERID_BATCH} owners, got {len(owner_userids)}"
            )
        body: dict[str, Any] = {
            "status_filter": status_filter,
            "cursor": cursor,
            "limit": min(max(limit, 1), 1000),
        }
        if owner_userids:
            body["owner_filter"] = {"userid_list": list(owner_userids)}
        data = self.call("externalcontact/groupchat/list", body=body)
        return GroupChatPage.model_validate(
            {"items": data.get("group_chat_list") or [], "next_cursor": data.get("next_cursor") or ""}
        )

    def iter_group_chats(
        self, owner_userids: Sequence[str] = (), status_filter: int = 0
    ) -> Iterator[GroupChatPage]:
        """Every page of group chat ids, 100 owners per request series."""
        if not owner_userids:
            yield from self._pages(lambda cursor: self.list_group_chats((), status_filter, cursor))
            return
        for chunk in chunks(owner_userids, USERID_BATCH):
            yield from self._pages(partial(self._chats_page, chunk, status_filter))

    def _chats_page(self, owners: list[str], status_filter: int, cursor: str) -> GroupChatPage:
        return self.list_group_chats(owners, status_filter, cursor)

    def get_group_chat(self, chat_id: str, need_name: bool = True) -> GroupChat:
        """A group chat with its members."""
        data = self.call(
            "externalcontact/groupchat/get", body={"chat_id": chat_id, "need_name": int(need_name)}
        )
        return GroupChat.model_validate(data.get("group_chat") or {})

    def group_chat_statistic(
        self, day_begin: date, day_end: date, owner_userids: Sequence[str], offset: int = 0, limit: int = 1000
    ) -> GroupStatPage:
        """One page of per-owner group statistics over the Beijing days [day_begin, day_end] (≤ 30 days)."""
        if not owner_userids or len(owner_userids) > USERID_BATCH:
            raise ValueError(f"group_chat_statistic takes 1..{USERID_BATCH} owners, got {len(owner_userids)}")
        body = {
            "day_begin_time": day_to_epoch(day_begin),
            "day_end_time": day_to_epoch(day_end),
            "owner_filter": {"userid_list": list(owner_userids)},
            "offset": offset,
            "limit": min(max(limit, 1), 1000),
        }
        data = self.call("externalcontact/groupchat/statistic", body=body)
        return GroupStatPage.model_validate(data)

    # --- behaviour statistics -------------------------------------------------------------------

    def get_user_behavior_data(self, userids: Sequence[str], start: date, end: date) -> list[BehaviorRow]:
        """Daily rows over the Beijing days [start, end] (≤ 30); several userids give their aggregate."""
        if not userids or len(userids) > USERID_BATCH:
            raise ValueError(f"get_user_behavior_data takes 1..{USERID_BATCH} userids, got {len(userids)}")
        body = {"userid": list(userids), "start_time": day_to_epoch(start), "end_time": day_to_epoch(end)}
        data = self.call("externalcontact/get_user_behavior_data", body=body)
        return [BehaviorRow.model_validate(row) for row in data.get("behavior_data") or []]

    # --- moments (客户朋友圈) -------------------------------------------------------------------

    def add_moment_task(self, request: MomentTaskRequest) -> str:
        """Start an asynchronous moment task; its jobid."""
        data = self.call("externalcontact/add_moment_task", body=request.body())
        return str(data.get("jobid") or "")

    def get_moment_task_result(self, jobid: str) -> MomentTaskResult:
        """Progress of a moment task; moment_id once status is 3 (done)."""
        data = self.call("externalcontact/get_moment_task_result", method="GET", params={"jobid": jobid})
        result = data.get("result") or {}
        senders = result.get("invalid_sender_list") or {}
        contacts = result.get("invalid_external_contact_list") or {}
        return MomentTaskResult.model_validate(
            {
                "status": data.get("status") or 0,
                "moment_id": result.get("moment_id") or None,
                "invalid_sender_list": senders.get("user_list") or []
                if isinstance(senders, dict)
                else senders,
                "invalid_external_contact_list": contacts.get("tag_list") or []
                if isinstance(contacts, dict)
                else contacts,
                "errcode": result.get("errcode") or 0,
                "errmsg": result.get("errmsg") or "",
            }
        )

    def get_moment_task(self, moment_id: str, cursor: str = "", limit: int = 1000) -> MomentTaskPage:
        """One page of the members' publish states of a moment."""
        body = {"moment_id": moment_id, "cursor": cursor, "limit": min(max(limit, 1), 1000)}
        data = self.call("externalcontact/get_moment_task", body=body)
        return MomentTaskPage.model_validate(
            {"items": data.get("task_list") or [], "next_cursor": data.get("next_cursor") or ""}
        )

    def iter_moment_task(self, moment_id: str) -> Iterator[MomentTaskPage]:
        """Every page of get_moment_task."""
        return self._pages(lambda cursor: self.get_moment_task(moment_id, cursor))

    # --- transfers (在职/离职继承) --------------------------------------------------------------

    def _transfer(
        self, api: str, base: dict[str, Any], external_userids: Sequence[str]
    ) -> list[TransferItem]:
        items: list[TransferItem] = []
        for chunk in chunks(external_userids, TRANSFER_BATCH):
            data = self.call(api, body={**base, "external_userid": chunk})
            items.extend(TransferItem.model_validate(c) for c in data.get("customer") or [])
        return items

    def transfer_customer(
        self,
        handover_userid: str,
        takeover_userid: str,
        external_userids: Sequence[str],
        transfer_success_msg: str | None = None,
    ) -> list[TransferItem]:
        """Start on-the-job transfers (100 per request); errcode 0 per customer = started."""
        base: dict[str, Any] = {"handover_userid": handover_userid, "takeover_userid": takeover_userid}
        if transfer_success_msg:
            base["transfer_success_msg"] = transfer_success_msg
        return self._transfer("externalcontact/transfer_customer", base, external_userids)

    def resigned_transfer_customer(
        self, handover_userid: str, takeover_userid: str, external_userids: Sequence[str]
    ) -> list[TransferItem]:
        """Start transfers of a resigned member's customers (100 per request)."""
        base = {"handover_userid": handover_userid, "takeover_userid": takeover_userid}
        return self._transfer("externalcontact/resigned/transfer_customer", base, external_userids)

    def transfer_result(
        self, handover_userid: str, takeover_userid: str, cursor: str = "", *, resigned: bool = False
    ) -> TransferResultPage:
        """One page of transfer statuses between two members."""
        api = "externalcontact/resigned/transfer_result" if resigned else "externalcontact/transfer_result"
        body = {"handover_userid": handover_userid, "takeover_userid": takeover_userid, "cursor": cursor}
        data = self.call(api, body=body)
        return TransferResultPage.model_validate(
            {"items": data.get("customer") or [], "next_cursor": data.get("next_cursor") or ""}
        )

    def iter_transfer_result(
        self, handover_userid: str, takeover_userid: str, *, resigned: bool = False
    ) -> Iterator[TransferResultPage]:
        """Every page of transfer_result."""
        return self._pages(
            lambda cursor: self.transfer_result(handover_userid, takeover_userid, cursor, resigned=resigned)
        )
