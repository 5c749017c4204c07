"""Keep the gettext catalogs in step with the code: `python -m siyu.web.catalog_tools` adds new msgids."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from siyu.web.i18n import LOCALE_DIR, LOCALES

SIYU_DIR = Path(__file__).resolve().parent.parent
METHOD_MAP = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**.py", "python"),
]
OPTIONS = {
    "**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "1", "lstrip_blocks": "1"}
}
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
# Generated code carries no UI text.
SKIP_DIRS = ("migrations",)


def extract() -> dict[str | tuple[str, str], list[tuple[str, int]]]:
    """Every msgid in the templates and Python of src/siyu, with where it is used."""
    found: dict[str | tuple[str, str], list[tuple[str, int]]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(SIYU_DIR), METHOD_MAP, OPTIONS, KEYWORDS, strip_comment_tags=True
    ):
        if any(part in SKIP_DIRS for part in Path(filename).parts):
            continue
        if isinstance(message, tuple):
            key: str | tuple[str, str] = (str(message[0]), str(message[1]))
        else:
            key = str(message)
        if key:
            found.setdefault(key, []).append((filename, lineno))
    return found


def _entries(catalog: Catalog) -> Iterator[str | tuple[str, str]]:
    for message in catalog:
        if message.id:
            yield message.id if isinstance(message.id, str) else (message.id[0], message.id[1])


def update_catalogs() -> dict[str, int]:
    """Add new msgids to each locale's messages.po (keeping translations); returns how many were added."""
    found = extract()
    added: dict[str, int] = {}
    for locale in LOCALES:
        path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="siyu", charset="utf-8")
        known = set(_entries(catalog))
        count = 0
        for msgid in sorted(found, key=str):
            if msgid not in known:
                string: str | tuple[str, ...] = ("", "") if isinstance(msgid, tuple) else ""
                catalog.add(msgid, string, locations=[(f, n) for f, n in found[msgid][:3]])
                count += 1
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, no_location=True, sort_output=True)
        added[locale] = count
    return added


def missing(locale: str) -> list[str | tuple[str, str]]:
    """msgids used in the code that have no translation in locale."""
    from siyu.web.i18n import load_catalog

    translations = load_catalog(locale)
    keys = extract()
    return sorted((k for k in keys if not translations.has(k[0] if isinstance(k, tuple) else k)), key=str)


if __name__ == "__main__":
    counts = update_catalogs()
    print(", ".join(f"{locale}: {n} new" for locale, n in counts.items()))
    gaps = missing("zh")
    for msgid in gaps:
        print(f"untranslated (zh): {msgid!r}")
    sys.exit(1 if gaps else 0)
