"""English and Khmer: choosing a language, and catalogs that match their sources."""

import re
import subprocess
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "consult" / "translations"


def test_browser_language_picks_khmer(client):
    r = client.get("/login", headers={"Accept-Language": "km-KH,km;q=0.9,en;q=0.5"})
    page = r.get_data(as_text=True)
    assert '<html lang="km">' in page
    assert "ពាក្យសម្ងាត់" in page  # "Password"


def test_language_switch_is_a_post_and_sticks(client):
    assert client.get("/language?lang=km").status_code == 405
    r = client.post("/language", data={"lang": "km", "next": "/login"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert "ពាក្យសម្ងាត់" in client.get("/login").get_data(as_text=True)
    client.post("/language", data={"lang": "en", "next": "/login"})
    assert "Password" in client.get("/login").get_data(as_text=True)


def test_language_switch_refuses_foreign_redirects(client):
    r = client.post("/language", data={"lang": "km", "next": "https://evil.example/"})
    assert r.headers["Location"] in ("/", "http://localhost/")


def test_a_logged_in_users_language_is_remembered(client, make, login):
    from consult.extensions import db

    user = make.user()
    db.session.commit()
    login(user)
    client.post("/language", data={"lang": "km", "next": "/"})
    db.session.refresh(user)
    assert user.language == "km"


def _catalog(lang):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=lang)


def _entries(catalog):
    return [m for m in catalog if m.id]  # the header has an empty id


PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|\{(\w*)\}")


def _placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


def test_no_compiled_catalog_is_kept_in_git():
    tracked = subprocess.run(
        ["git", "ls-files", "*.mo"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert tracked.stdout == ""


def test_every_khmer_entry_is_translated_confirmed_and_keeps_its_placeholders():
    for message in _entries(_catalog("km")):
        assert not message.fuzzy, message.id
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {message.id!r}"
        for text in strings:
            assert _placeholders(text) == _placeholders(ids[0]), message.id


@pytest.mark.parametrize("lang", ["km", "en"])
def test_the_app_translates_every_entry_of_the_source_catalog(app, lang):
    """Whatever Babel release compiled it, the app reads each msgid as its .po says: Khmer as its
    msgstr, English (the source language) as the msgid itself."""
    from flask_babel import force_locale, get_translations

    with app.test_request_context(), force_locale(lang):
        translations = get_translations()
        assert lang == "en" or translations.ugettext("Log in") != "Log in"  # a catalog was read
        for message in _entries(_catalog(lang)):
            if isinstance(message.id, tuple):
                singular, plural = message.id
                for n in (1, 2):
                    form = message.string[0] if lang == "km" else (singular if n == 1 else plural)
                    assert translations.ungettext(singular, plural, n) == form, singular
            else:
                assert translations.ugettext(message.id) == (message.string or message.id)


def test_templates_switch_language_inside_force_locale(app):
    """Templates look their translations up once per request and language: a message rendered
    in its reader's language in the middle of another's request (an email) is in that language,
    and the request's own language comes back after it."""
    from flask import render_template_string
    from flask_babel import force_locale

    page = "{{ _('Log in') }}"
    with app.test_request_context(headers={"Accept-Language": "km"}):
        khmer = render_template_string(page)
        assert khmer != "Log in"
        with force_locale("en"):
            assert render_template_string(page) == "Log in"
        assert render_template_string(page) == khmer


def test_khmer_catalog_covers_the_words_people_see_first():
    with (TRANSLATIONS / "km" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="km")
    for msgid in ("Log in", "Password", "Proposals", "Open problems", "Yes", "No", "Abstain"):
        assert catalog[msgid].string, msgid
