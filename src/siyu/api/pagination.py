"""Opaque keyset cursors for list endpoints."""

from __future__ import annotations

import base64
import json
from typing import Any

from siyu.errors import Invalid


def encode_cursor(values: list[Any]) -> str:
    """Encode the sort key of the last row returned."""
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """Decode a cursor made by encode_cursor, or raise Invalid naming the parameter."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid("query parameter 'cursor' is not a cursor this API issued") from exc
    if not isinstance(values, list):
        raise Invalid("query parameter 'cursor' is not a cursor this API issued")
    return values
