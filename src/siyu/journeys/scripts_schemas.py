"""Script library (话术库) shapes: categories, attachments by reference, create/edit input and output."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from siyu.web.i18n import N_

# The fixed category vocabulary (code → label msgid; the zh catalog holds the Chinese label).
CATEGORIES: dict[str, str] = {
    "welcome": N_("Welcome"),
    "follow_up": N_("Follow-up"),
    "holiday": N_("Holiday greeting"),
    "birthday": N_("Birthday"),
    "recall": N_("Recall"),
    "after_sale": N_("After-sale care"),
    "product": N_("Product"),
    "promotion": N_("Promotion"),
    "moments": N_("Moments post"),
    "group": N_("Group chat"),
}
APPROVAL_LABELS: dict[str, str] = {
    "draft": N_("Draft"),
    "pending": N_("Pending review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "retired": N_("Retired"),
}
ATTACHMENT_KINDS = ("image", "link", "miniprogram")
# Sample values of the live preview (the console and `scripts list --preview` show the same text).
SAMPLE_VALUES = {"name": "王女士", "store": "静安嘉里店", "guide": "小林", "coupon": "满199减30券"}

_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)
_MEDIA = re.compile(r"^[\w\-./:]{1,500}$")  # a media-library key or a path, never bytes
_MINIPROGRAM = re.compile(r"^wx[0-9a-f]{16}(/[\w\-./?=&%]*)?$")
_LABEL = re.compile(r"^[A-Za-z0-9\u4e00-\u9fff_\-]{1,32}$")


class Attachment(BaseModel):
    """One attachment by reference: an image key/URL, a link, or a mini-program page (appid/path)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["image", "link", "miniprogram"]
    ref: str = Field(min_length=1, max_length=500)
    title: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _check_ref(self) -> Attachment:
        ref = self.ref.strip()
        if self.kind == "link" and not _URL.match(ref):
            raise ValueError(f"link attachment: ref {ref!r} is not an http(s) URL")
        if self.kind == "image" and not (_URL.match(ref) or _MEDIA.match(ref)):
            raise ValueError(f"image attachment: ref {ref!r} is neither a URL nor a media key")
        if self.kind == "miniprogram" and not _MINIPROGRAM.match(ref):
            raise ValueError(f"miniprogram attachment: ref {ref!r} must be 'wx<16 hex appid>/<page path>'")
        if self.kind in ("link", "miniprogram") and not (self.title or "").strip():
            raise ValueError(f"{self.kind} attachment {ref!r}: a title is required (customers see it)")
        self.ref = ref
        return self


class ScriptIn(BaseModel):
    """A new script or an edit: title, category, scenario, body with {variables}, attachments, variant."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    category: str
    scenario: str | None = Field(default=None, max_length=100)
    body: str = Field(min_length=1, max_length=4000)
    attachments: list[Attachment] = Field(default_factory=list, max_length=9)
    parent_id: int | None = None
    variant_label: str | None = None
    submit: bool = False  # straight to pending review

    @field_validator("title", "body")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("scenario", "variant_label")
    @classmethod
    def _blank_none(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        if value not in CATEGORIES:
            raise ValueError(f"category {value!r} is not one of: {', '.join(CATEGORIES)}")
        return value

    @model_validator(mode="after")
    def _variant(self) -> ScriptIn:
        if (self.parent_id is None) != (self.variant_label is None):
            raise ValueError("a variant needs both parent_id and variant_label")
        if self.variant_label is not None and not _LABEL.match(self.variant_label):
            raise ValueError(f"variant_label {self.variant_label!r}: 1-32 letters, digits, _ or -")
        return self


class ReviewIn(BaseModel):
    """An approval decision: approve or reject, with a note (required to reject)."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    note: str | None = Field(default=None, max_length=1000)


class ScriptOut(BaseModel):
    """A script as the API returns it (preview = body with the sample values)."""

    id: int
    title: str
    category: str
    scenario: str | None
    body: str
    preview: str
    variables: list[str]
    attachments: list[dict[str, Any]]
    approval: str
    owner_account_id: int | None
    reviewed_by_account_id: int | None
    reviewed_at: datetime | None
    review_note: str | None
    parent_id: int | None
    variant_label: str | None
    usage_count: int
    created_at: datetime
    updated_at: datetime | None


class ScriptPage(BaseModel):
    """One page of search results: the total matching and the scripts, best first."""

    total: int
    items: list[ScriptOut]
