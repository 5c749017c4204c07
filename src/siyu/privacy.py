"""Personal data shown through the API: phones are masked unless the viewer may and asks to reveal."""

from __future__ import annotations

import phonenumbers

from siyu.errors import Forbidden
from siyu.org.permissions import Actor


def mask_phone(value: str | None) -> str | None:
    """Mask an E.164 phone, keeping the first 3 and last 4 national digits: +86 138****1234."""
    if not value:
        return value
    try:
        parsed = phonenumbers.parse(value, None)
        prefix, national = f"+{parsed.country_code} ", phonenumbers.national_significant_number(parsed)
    except phonenumbers.NumberParseException:
        # Not E.164 (a legacy import?): mask it all the same rather than show it.
        prefix, national = "", "".join(c for c in value if c.isdigit())
    if len(national) > 7:
        return f"{prefix}{national[:3]}{'*' * (len(national) - 7)}{national[-4:]}"
    # Too short to keep 7 digits and still hide anything: keep only the last 2.
    return f"{prefix}{'*' * max(len(national) - 2, 0)}{national[-2:]}"


def may_reveal(actor: Actor, reveal: bool) -> bool:
    """Whether to show full phones; asking without the right is refused, never silently masked."""
    if reveal and not actor.may_reveal_phone:
        raise Forbidden(f"role {actor.role.value!r} may not reveal phone numbers")
    return reveal


def show_phone(value: str | None, reveal: bool) -> str | None:
    """The phone as this response may show it."""
    return value if reveal else mask_phone(value)
