"""Builds event XML, encrypts and signs it with the fake's own crypto, and POSTs it like WeCom does."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from fake_wecom.crypto_fake import callback_signature, encrypt_for_callback


@dataclass
class CallbackConfig:
    """The app's callback URL, Token and EncodingAESKey."""

    url: str
    token: str
    encoding_aes_key: str
    agent_id: str


@dataclass
class SentCallback:
    """One delivery attempt: the event, the HTTP status (None on a transport error) and the reply."""

    event: dict[str, Any]
    status_code: int | None
    body: str
    error: str = ""

    @property
    def ok(self) -> bool:
        """WeCom treats an HTTP 200 answer as received."""
        return self.status_code == 200


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def event_xml(event: dict[str, Any]) -> bytes:
    """<xml> with strings as CDATA, numbers bare, lists as <Item> children (MemChangeList)."""
    parts = ["<xml>"]
    for key, value in event.items():
        if isinstance(value, bool):
            parts.append(f"<{key}>{int(value)}</{key}>")
        elif isinstance(value, int):
            parts.append(f"<{key}>{value}</{key}>")
        elif isinstance(value, list):
            items = "".join(f"<Item>{_cdata(str(v))}</Item>" for v in value)
            parts.append(f"<{key}>{items}</{key}>")
        else:
            parts.append(f"<{key}>{_cdata(str(value))}</{key}>")
    parts.append("</xml>")
    return "".join(parts).encode("utf-8")


def envelope(corp_id: str, agent_id: str, encrypted: str) -> bytes:
    """The POST body: ToUserName, AgentID and the Encrypt blob."""
    return (
        f"<xml><ToUserName>{_cdata(corp_id)}</ToUserName><AgentID>{_cdata(agent_id)}</AgentID>"
        f"<Encrypt>{_cdata(encrypted)}</Encrypt></xml>"
    ).encode()


def signed_request(
    config: CallbackConfig, corp_id: str, event: dict[str, Any], timestamp: int, nonce: str | None = None
) -> tuple[dict[str, str], bytes]:
    """(query params, body) of the callback POST for event."""
    nonce = nonce or secrets.token_hex(5)
    encrypted = encrypt_for_callback(config.encoding_aes_key, corp_id, event_xml(event))
    params = {
        "msg_signature": callback_signature(config.token, str(timestamp), nonce, encrypted),
        "timestamp": str(timestamp),
        "nonce": nonce,
    }
    return params, envelope(corp_id, config.agent_id, encrypted)


def verify_url_request(config: CallbackConfig, corp_id: str, echo: str, timestamp: int) -> dict[str, str]:
    """Query params of the GET that WeCom sends when the admin saves the callback URL."""
    nonce = secrets.token_hex(5)
    echostr = encrypt_for_callback(config.encoding_aes_key, corp_id, echo.encode())
    return {
        "msg_signature": callback_signature(config.token, str(timestamp), nonce, echostr),
        "timestamp": str(timestamp),
        "nonce": nonce,
        "echostr": echostr,
    }


def post_callback(
    config: CallbackConfig, corp_id: str, event: dict[str, Any], *, timestamp: int, transport: Any = None
) -> SentCallback:
    """POST one event; a transport failure is recorded, not raised (WeCom would just retry later)."""
    params, body = signed_request(config, corp_id, event, timestamp)
    try:
        with httpx.Client(timeout=10.0, transport=transport) as client:
            response = client.post(
                config.url, params=params, content=body, headers={"Content-Type": "text/xml"}
            )
        return SentCallback(event, response.status_code, response.text)
    except httpx.HTTPError as exc:
        return SentCallback(event, None, "", f"{type(exc).__name__}: {exc}")
