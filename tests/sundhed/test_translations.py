"""The Danish catalogue is complete and compiled (a fresh machine may have no msgfmt)."""

import gettext
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "locale" / "da" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _po_entries() -> dict[str, str]:
    entries = {}
    for block in PO.read_text(encoding="utf-8").split("\n\n"):
        if "#~" in block or "msgid_plural" in block:
            continue
        msgid = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        msgstr = re.search(r'^msgstr ((?:".*"\n?)+)', block, re.M)
        if msgid and msgstr:
            key = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', msgid.group(1)))
            if key:
                entries[key] = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', msgstr.group(1)))
    return entries


def test_every_message_has_a_danish_translation():
    untranslated = [key for key, value in _po_entries().items() if not value]
    assert untranslated == []


def test_the_compiled_catalogue_matches_the_source():
    catalogue = gettext.GNUTranslations(MO.open("rb"))
    stale = [
        key
        for key, value in _po_entries().items()
        if "\\" not in key and catalogue.gettext(key) != value
    ]
    assert stale == [], "run `make messages` to compile locale/da"
