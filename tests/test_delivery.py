"""What a phone downloads: compressed pages, fingerprinted static files kept for a year, a
favicon instead of a 404."""

import re
import shutil

import pytest
from flask_static_digest import digester

from consult.extensions import static_digest
from tests.conftest import make_test_app


def test_pages_are_compressed_for_browsers_that_accept_it(client):
    r = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in r.headers["Vary"]
    plain = client.get("/login")
    assert "Content-Encoding" not in plain.headers
    assert len(r.data) < len(plain.data) / 2


def test_the_favicon_is_an_icon_not_a_404(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.mimetype == "image/svg+xml"
    assert r.data.startswith(b"<svg ") and b'xmlns="http://www.w3.org/2000/svg"' in r.data
    assert r.cache_control.max_age > 0
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)


@pytest.fixture
def digested_app(app, database, tmp_path):
    """An app started after ``consult digest compile`` (as scripts/test and deployments do).
    Compiled in a copy of static/: rewriting the checkout's files would race with tests in
    other pytest workers that serve them."""
    static = tmp_path / "static"
    made = re.compile(rf"{digester.DIGESTED_FILE_REGEX}|\.gz$|^cache_manifest\.json$")
    shutil.copytree(
        app.static_folder, static, ignore=lambda _, names: [n for n in names if made.search(n)]
    )
    digester.compile(str(static), str(static), [], False, False)
    fresh = make_test_app(database, tmp_path)
    fresh.static_folder = str(static)
    static_digest.init_app(fresh)  # reads the copy's manifest
    yield fresh


def test_static_files_are_fingerprinted_and_cached_for_a_year(digested_app):
    client = digested_app.test_client()
    html = client.get("/login").get_data(as_text=True)
    (href,) = re.findall(r'<link rel="stylesheet" href="(/static/css/app-[0-9a-f]{32}\.css)"', html)
    r = client.get(href)
    assert r.status_code == 200
    assert r.cache_control.max_age == 365 * 24 * 3600
    assert r.cache_control.immutable and r.cache_control.public
    # the file under its own name is still served, but revalidated: it may change
    plain = client.get("/static/css/app.css")
    assert plain.status_code == 200 and not plain.cache_control.immutable
    assert plain.data == r.data
    # and compressed, like pages
    gz = client.get(href, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and len(gz.data) < len(r.data) / 2
