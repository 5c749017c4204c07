"""Shapes shared by every /api/v1 domain: pages, error bodies, ids, money and free-text rules."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Path, Query
from fastapi.params import Depends as DependsParam
from fastapi.security import HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field

from siyu.errors import Invalid

# Ids above BIGINT's range would overflow the driver (a 500); reject them as invalid input instead.
MAX_ID = 2**63 - 1
MAX_PAGE = 200

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
CursorQuery = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")]
RevealQuery = Annotated[
    bool, Query(description="show full phone numbers (roles allowed to reveal only; audited)")
]

T = TypeVar("T")

# Declares the bearer scheme in the OpenAPI document (the docs' Authorize button); it never rejects:
# authentication itself is api.deps.get_actor, so errors stay in the one JSON shape.
BEARER = HTTPBearer(auto_error=False, description="an API token: `siyu token create USERNAME`")
DOCUMENT_BEARER: list[DependsParam] = [Depends(BEARER)]


class ApiModel(BaseModel):
    """Base of response models: built from plain attributes of rows."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    """One page of a keyset-paginated list; pass next_cursor back to get the next page."""

    items: list[T]
    next_cursor: str | None = Field(description="null on the last page")


class ErrorDetail(BaseModel):
    """Where and why one part of the input was rejected."""

    where: str
    why: str
    value: Any = None


class ErrorBody(BaseModel):
    """Every error the API returns."""

    code: str = Field(examples=["not_found"])
    message: str
    details: Any = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "missing, unknown or revoked bearer token"},
    403: {"model": ErrorBody, "description": "the role may not do this"},
    404: {"model": ErrorBody, "description": "unknown id, or outside the caller's data scope"},
    409: {"model": ErrorBody, "description": "the write clashes with existing data"},
    422: {"model": ErrorBody, "description": "invalid input; details say where and why"},
}


def yuan(fen: int) -> str:
    """Integer fen as a yuan string with two decimals (12345 → '123.45')."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


class PaidMoney(BaseModel):
    """Paid amount and refunds in integer fen, each also as a yuan string; net = amount − refund."""

    amount_fen: int
    refund_fen: int

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount(self) -> str:
        """amount_fen in yuan."""
        return yuan(self.amount_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def refund(self) -> str:
        """refund_fen in yuan."""
        return yuan(self.refund_fen)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net_fen(self) -> int:
        """Amount minus refunds, in fen."""
        return self.amount_fen - self.refund_fen

    @computed_field  # type: ignore[prop-decorator]
    @property
    def net(self) -> str:
        """net_fen in yuan."""
        return yuan(self.net_fen)


def control_char(value: str) -> str | None:
    """The first control character in value, or None (PostgreSQL refuses NUL; the others are never meant)."""
    return next((c for c in value if unicodedata.category(c) == "Cc"), None)


def check_text(value: str, where: str) -> str:
    """Strip value, or raise Invalid naming where if it holds a control character."""
    char = control_char(value)
    if char is not None:
        why = f"control character U+{ord(char):04X} is not allowed"
        raise Invalid(f"{where}: {why}", details=[{"where": where, "why": why, "value": value}])
    return value.strip()


def _name(value: str) -> str:
    char = control_char(value)
    if char is not None:
        raise ValueError(f"control character U+{ord(char):04X} is not allowed")
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


# A display name: trimmed, non-blank, no control characters; stored and returned verbatim (never HTML).
Name = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_name)]
