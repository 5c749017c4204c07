"""/api/v1/wecom/settings: the WeCom app's credentials (write-only secrets) and the connection test."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from siyu.api.deps import ActorDep, SessionDep
from siyu.api.schemas import DOCUMENT_BEARER, ERROR_RESPONSES
from siyu.db.types import utcnow
from siyu.wecom import settings_service as service
from siyu.wecom.credentials import save_app

router = APIRouter(prefix="/wecom/settings", responses=ERROR_RESPONSES, dependencies=DOCUMENT_BEARER)
TAGS: list[str | Enum] = ["wecom"]


class SettingsIn(BaseModel):
    """Credentials to save; a blank secret or AES key keeps the stored one."""

    model_config = ConfigDict(extra="forbid")

    corp_id: str = Field(min_length=1, max_length=64)
    agent_id: str | None = Field(default=None, max_length=32)
    secret: str | None = Field(default=None, max_length=256)
    callback_token: str = Field(min_length=1, max_length=64)
    aes_key: str | None = Field(default=None, max_length=64)
    api_base_url: str | None = Field(default=None, max_length=255)
    enabled: bool = True


class SettingsOut(BaseModel):
    """The settings without their secrets: only whether each is set."""

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


def _out(view: service.SettingsView) -> SettingsOut:
    return SettingsOut(**view.__dict__)


@router.get("", response_model=SettingsOut, tags=TAGS)
def get_settings_route(session: SessionDep, actor: ActorDep) -> SettingsOut:
    """The stored settings (admin only); the secret and the AES key are never returned."""
    service.require_admin(actor)
    return _out(service.settings_view(session))


@router.put("", response_model=SettingsOut, tags=TAGS)
def put_settings(session: SessionDep, actor: ActorDep, body: SettingsIn) -> SettingsOut:
    """Save the credentials (admin only, audited); secrets are sealed with the server key."""
    service.require_admin(actor)
    save_app(session, actor, **body.model_dump())
    session.commit()
    return _out(service.settings_view(session))


@router.post("/test", response_model=SettingsOut, tags=TAGS)
def test_settings(session: SessionDep, actor: ActorDep) -> SettingsOut:
    """Fetch a token and the follow-user list with the stored credentials; the outcome is stored."""
    view = service.test_connection(session, actor, utcnow())
    session.commit()
    return _out(view)
