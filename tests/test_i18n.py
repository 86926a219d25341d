"""English and Khmer: choosing a language, and catalogs that match their sources."""

import gettext
import io
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

TRANSLATIONS = Path(__file__).resolve().parent.parent / "consult" / "translations"


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


@pytest.mark.parametrize("lang", ["km", "en"])
def test_compiled_catalog_matches_its_source(lang):
    """The .mo the app reads is exactly what its .po compiles to (run ./scripts/translations
    after editing a .po)."""
    folder = TRANSLATIONS / lang / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    expected = io.BytesIO()
    write_mo(expected, catalog, use_fuzzy=True)
    assert (folder / "messages.mo").read_bytes() == expected.getvalue()


def test_khmer_catalog_covers_the_words_people_see_first():
    with (TRANSLATIONS / "km" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="km")
    for msgid in ("Log in", "Password", "Proposals", "Open problems", "Yes", "No", "Abstain"):
        assert catalog[msgid].string, msgid
    with (TRANSLATIONS / "km" / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        assert gettext.GNUTranslations(f).gettext("Log in") == "ចូល"
