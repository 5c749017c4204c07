"""Opaque keyset cursors for list endpoints."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from siyu.errors import Invalid

T = TypeVar("T")


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


def after_id(cursor: str | None) -> int | None:
    """The last id of the previous page from an id-keyset cursor, or None for the first page."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    if len(values) != 1 or not isinstance(values[0], int) or isinstance(values[0], bool):
        raise Invalid("query parameter 'cursor' is not a cursor this API issued")
    return values[0]


def split_page(rows: Sequence[T], limit: int, key: Callable[[T], list[Any]]) -> tuple[list[T], str | None]:
    """Cut rows fetched with limit + 1 into the page and the cursor of the next one (None at the end)."""
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return items, None
    return items, encode_cursor(key(items[-1]))
