"""Gettext for the console: .po catalogs loaded at startup, locale negotiation, the `_` of Python code."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"
# The <html lang> and Accept-Language names of each supported locale.
HTML_LANG = {"zh": "zh-CN", "en": "en"}
LOCALE_NAMES = {"zh": "中文", "en": "English"}


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where the viewer's locale is known."""
    return message


class Translations:
    """The messages of one locale; a missing or empty translation falls back to the English msgid."""

    def __init__(self, locale: str, messages: dict[str, str], plurals: dict[str, tuple[str, ...]]) -> None:
        self.locale = locale
        self._messages = messages
        self._plurals = plurals

    def gettext(self, message: str) -> str:
        """Translate message."""
        return self._messages.get(message) or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """Translate a message with a count (Chinese has one plural form, English two)."""
        forms = self._plurals.get(singular)
        if forms and all(forms):
            return forms[0] if len(forms) == 1 else forms[0 if n == 1 else 1]
        return singular if n == 1 else plural

    def has(self, message: str) -> bool:
        """Whether message has a non-empty translation here."""
        return bool(self._messages.get(message) or all(self._plurals.get(message, ("",))))


def load_catalog(locale: str) -> Translations:
    """Read locale/<locale>/LC_MESSAGES/messages.po (no compile step: Babel parses .po directly)."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for entry in catalog:
        if not entry.id or entry.fuzzy:
            continue
        if isinstance(entry.id, str):
            messages[entry.id] = str(entry.string or "")
        else:
            plurals[str(entry.id[0])] = tuple(str(s) for s in entry.string or ())
    return Translations(locale, messages, plurals)


@lru_cache(maxsize=1)
def catalogs() -> dict[str, Translations]:
    """Every supported locale's catalog, parsed once per process."""
    return {locale: load_catalog(locale) for locale in LOCALES}


def translations(locale: str | None) -> Translations:
    """The catalog of locale, or of the default locale when it is not supported."""
    loaded = catalogs()
    return loaded.get(locale or DEFAULT_LOCALE) or loaded[DEFAULT_LOCALE]


def normalize_locale(value: str | None) -> str | None:
    """Map a language tag (zh-CN, zh_Hans, en-GB…) to a supported locale, or None."""
    if not value:
        return None
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LOCALES else None


def negotiate(accept_language: str | None) -> str:
    """Pick the best supported locale from an Accept-Language header (default Simplified Chinese)."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _sep, params = part.strip().partition(";")
        locale = normalize_locale(tag)
        if locale is None:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        # Higher quality wins; on a tie, the earlier tag wins.
        candidate = (-quality, position, locale)
        if quality > 0 and (best is None or candidate < best):
            best = candidate
    return best[2] if best else DEFAULT_LOCALE
