"""WeCom settings: save the app's credentials and test the connection (gettoken + the follow-user list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.audit import audit
from siyu.errors import Forbidden, Invalid
from siyu.org.permissions import Actor, PermissionRole
from siyu.wecom.credentials import client_for_config, get_app_row, load_app


@dataclass(frozen=True)
class SettingsView:
    """What the settings page may show: never the secret or the AES key, only whether they are set."""

    configured: bool
    corp_id: str
    agent_id: str
    callback_token: str
    api_base_url: str
    enabled: bool
    secret_set: bool
    aes_key_set: bool
    last_test_at: datetime | None
    last_test_ok: bool | None
    last_test_message: str | None


def require_admin(actor: Actor) -> None:
    """Forbidden unless the actor is an admin (credentials are the keys to every customer conversation)."""
    if actor.role != PermissionRole.admin:
        raise Forbidden("WeCom settings: only an admin may view or change the WeCom app")


def settings_view(session: Session) -> SettingsView:
    """The stored settings without their secrets."""
    from siyu.models.wecom import OFFICIAL_API_BASE_URL

    row = get_app_row(session)
    if row is None:
        return SettingsView(False, "", "", "", OFFICIAL_API_BASE_URL, True, False, False, None, None, None)
    return SettingsView(
        configured=True,
        corp_id=row.corp_id,
        agent_id=row.agent_id or "",
        callback_token=row.callback_token,
        api_base_url=row.api_base_url,
        enabled=row.enabled,
        secret_set=bool(row.secret_sealed),
        aes_key_set=bool(row.aes_key_sealed),
        last_test_at=row.last_test_at,
        last_test_ok=row.last_test_ok,
        last_test_message=row.last_test_message,
    )


def test_connection(session: Session, actor: Actor, now: datetime, **client_options: Any) -> SettingsView:
    """Fetch a token and the follow-user list with the stored credentials; store and audit the outcome."""
    from siyu.channels.wecom.errors import WecomError, WecomUnreachable

    require_admin(actor)
    config = load_app(session)
    row = get_app_row(session)
    if config is None or row is None:
        raise Invalid("WeCom is not configured: save the corp id and app secret on /wecom/settings first")
    ok = False
    try:
        # A fresh token: a cached one would hide a secret that was revoked or rotated since.
        with client_for_config(config, fresh_token=True, **client_options) as client:
            client.get_token()
            users = client.get_follow_user_list()
        ok, message = True, f"OK: token issued; {len(users)} member(s) may add customers"
    except WecomError as exc:
        message = f"WeCom refused {exc.api}: errcode {exc.errcode} {exc.errmsg}"
    except WecomUnreachable as exc:
        message = f"WeCom unreachable at {config.api_base_url}: {exc}"
    row.last_test_at, row.last_test_ok, row.last_test_message = now, ok, message[:500]
    session.flush()
    audit(
        session, actor, "wecom.connection_tested", "wecom_app", row.id, {"ok": ok, "message": message[:200]}
    )
    return settings_view(session)
