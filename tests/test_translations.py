"""The translation catalogues are complete and up to date with the code.

* every entry of the zh_Hant and zh_Hans catalogues is translated, not fuzzy, and keeps
  the placeholders of its msgid;
* running makemessages over a copy of the package finds no msgid that the committed
  catalogues lack (so a new ``gettext`` / ``{% translate %}`` string without a translation
  fails here, with the missing msgids listed).

To bring the catalogues up to date: ``qinglan makemessages -l zh_Hant -l zh_Hans -l en
--ignore=.venv --ignore=node_modules --ignore=var --ignore=bench --ignore=tests
--no-location`` from the repository root, translate the new entries, then
``qinglan build_locale``.
"""

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.test import override_settings

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "qinglan"
LOCALE_DIR = PACKAGE_DIR / "locale"
TRANSLATED = ("zh_Hant", "zh_Hans")
ALL_CATALOGUES = (*TRANSLATED, "en")
# The directories the committed catalogues are made without (see the module docstring).
IGNORED = ["tests", "node_modules", "var", "bench", ".venv"]

PLACEHOLDER = re.compile(
    r"%\([^)]+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]"  # %(name)s, %(count)d
    r"|%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs]"  # %s, %d
    r"|%%"  # a literal percent sign in a format string
    r"|\{[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*(?:![rsa])?(?::[^{}]*)?\}"  # {name}
    r"|</?[A-Za-z][A-Za-z0-9]*\b[^<>]*>"  # HTML tags
)


def placeholders(text):
    return set(PLACEHOLDER.findall(text))


def catalogue_path(language):
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def load(language):
    path = catalogue_path(language)
    assert path.exists(), f"{path} is missing: run makemessages (see the docstring of tests/test_translations.py)"
    return polib.pofile(str(path))


def live_entries(catalogue):
    return [entry for entry in catalogue if not entry.obsolete]


def describe(entry):
    context = f"[{entry.msgctxt}] " if entry.msgctxt else ""
    return f"{context}{entry.msgid!r}"


@pytest.mark.parametrize("language", ALL_CATALOGUES)
def test_catalogue_header(language):
    catalogue = load(language)
    assert catalogue.metadata.get("Language") == language
    assert "charset=UTF-8" in catalogue.metadata.get("Content-Type", "")
    assert not catalogue.metadata_is_fuzzy, "the header is marked fuzzy"
    plural_forms = catalogue.metadata.get("Plural-Forms", "").replace(" ", "")
    if language in TRANSLATED:
        assert plural_forms == "nplurals=1;plural=0;"
    assert live_entries(catalogue), "the catalogue is empty"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_entry_is_translated(language):
    catalogue = load(language)
    problems = []
    for entry in live_entries(catalogue):
        if "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {describe(entry)}")
        if entry.msgid_plural:
            forms = entry.msgstr_plural
            if sorted(forms) != [0]:
                problems.append(f"expected exactly one plural form (msgstr[0]), got {sorted(forms)}: {describe(entry)}")
            if not all(value.strip() for value in forms.values()):
                problems.append(f"untranslated: {describe(entry)}")
        elif not entry.msgstr.strip():
            problems.append(f"untranslated: {describe(entry)}")
    assert not problems, f"{len(problems)} problem(s) in {language}:\n" + "\n".join(problems)


@pytest.mark.parametrize("language", TRANSLATED)
def test_placeholders_are_kept(language):
    catalogue = load(language)
    problems = []
    for entry in live_entries(catalogue):
        if entry.msgid_plural:
            # Chinese has one form, used for every number: it must fit the plural msgid.
            expected = placeholders(entry.msgid_plural)
            translations = list(entry.msgstr_plural.values())
        else:
            expected = placeholders(entry.msgid)
            translations = [entry.msgstr]
        for translation in translations:
            found = placeholders(translation)
            if translation and found != expected:
                problems.append(f"{describe(entry)} → {translation!r}: expected {sorted(expected)}, found {sorted(found)}")
    assert not problems, f"{len(problems)} placeholder mismatch(es) in {language}:\n" + "\n".join(problems)


def test_placeholder_pattern():
    """The check above really sees the tokens it compares."""
    assert placeholders("%(count)d of %(total)s, %s and %d, 5%% off, {code}-{year}") == {
        "%(count)d",
        "%(total)s",
        "%s",
        "%d",
        "%%",
        "{code}",
        "{year}",
    }
    assert placeholders('e.g. {"status": "open"}') == set()
    assert placeholders('<a href="%(url)s">x</a>') == {'<a href="%(url)s">', "</a>"}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The msgids makemessages finds in a copy of the package today."""
    if shutil.which("xgettext") is None:
        pytest.fail("GNU gettext (xgettext, msguniq, msgmerge) is needed to extract messages")
    copy = tmp_path_factory.mktemp("extract") / "qinglan"
    shutil.copytree(
        PACKAGE_DIR,
        copy,
        ignore=shutil.ignore_patterns("*.mo", "*.pot", "__pycache__", "static_vendor", "static", *IGNORED),
    )
    previous = os.getcwd()
    os.chdir(copy)
    try:
        with override_settings(LOCALE_PATHS=[copy / "locale"]):
            call_command(
                "makemessages",
                locale=["zh_Hant"],
                ignore_patterns=IGNORED,
                keep_pot=True,
                no_location=True,
                verbosity=0,
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )
    finally:
        os.chdir(previous)
    pot = polib.pofile(str(copy / "locale" / "django.pot"))
    found = {(entry.msgctxt, entry.msgid) for entry in pot if entry.msgid}
    assert found, "makemessages found no messages at all"
    return found


def test_extraction_sees_known_strings(extracted):
    """Guards the test below against an extraction that silently finds little."""
    known = {(None, "Save"), (None, "member"), (None, "%(counter)s record")}  # template, model, blocktranslate
    assert known <= extracted


@pytest.mark.parametrize("language", ALL_CATALOGUES)
def test_catalogue_is_up_to_date(extracted, language):
    committed = {(entry.msgctxt, entry.msgid) for entry in live_entries(load(language))}
    missing = sorted(extracted - committed, key=lambda item: (item[0] or "", item[1]))
    assert not missing, (
        f"{len(missing)} message(s) in the code are missing from the {language} catalogue "
        f"(run makemessages as the docstring of tests/test_translations.py says, and translate them):\n"
        + "\n".join(f"[{context}] {msgid!r}" if context else repr(msgid) for context, msgid in missing)
    )


@pytest.mark.parametrize("language", ALL_CATALOGUES)
def test_catalogue_compiles(language, tmp_path):
    """GNU msgfmt --check agrees (format strings, plural forms, header)."""
    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt is not installed")
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(catalogue_path(language))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
