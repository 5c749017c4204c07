"""One error hierarchy for the whole product."""

from __future__ import annotations

from typing import Any


class SiyuError(Exception):
    """Base of every error Siyu raises on purpose."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """JSON body for API responses."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class NotFound(SiyuError):
    """The thing asked for does not exist or is outside the caller's scope."""

    status_code = 404
    code = "not_found"


class Conflict(SiyuError):
    """The write clashes with existing data."""

    status_code = 409
    code = "conflict"


class Invalid(SiyuError):
    """The input is malformed; details name what, where and why."""

    status_code = 422
    code = "invalid"


class Unauthorized(SiyuError):
    """No valid credentials."""

    status_code = 401
    code = "unauthorized"


class Forbidden(SiyuError):
    """Credentials are valid but the action is not allowed."""

    status_code = 403
    code = "forbidden"
