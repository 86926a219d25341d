"""Every link each demo role is shown leads somewhere that works: follow them all. On the
way, every page is checked for duplicate ids and for its weight on a phone's first visit."""

import re
from collections import Counter, deque

import pytest

from consult import demo

HREF = re.compile(r'href="(/[^"#]*)"')
SKIP = ("/static/", "/attachments/")  # files: served, not pages
ID = re.compile(r'\sid="([^"]+)"')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')
#: what a page may weigh on a first visit: its HTML and its stylesheets, uncompressed (photos
#: apart). Phones on prepaid data pay for every byte.
MAX_FIRST_VISIT = 60 * 1024


def duplicate_ids(html: str) -> list[str]:
    return sorted(i for i, n in Counter(ID.findall(html)).items() if n > 1)


@pytest.fixture
def demo_data(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("who, login", demo.LOGINS)
def test_every_link_a_role_sees_works(app, demo_data, who, login):
    client = app.test_client()
    r = client.post("/login", data={"login": login, "password": app.config["DEMO_PASSWORD"]})
    assert r.status_code == 302, who
    seen, queue, broken = set(), deque(["/"]), []
    duplicates, heavy, css = {}, {}, {}
    while queue and len(seen) < 250:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        r = client.get(path)
        if r.status_code in (301, 302):
            queue.append(r.headers["Location"].removeprefix("http://localhost"))
            continue
        if r.status_code != 200:
            broken.append((path, r.status_code))
            continue
        if r.mimetype != "text/html":
            continue
        html = r.get_data(as_text=True)
        if found := duplicate_ids(html):
            duplicates[path] = found
        for sheet in STYLESHEET.findall(html):
            if sheet not in css:
                css[sheet] = len(client.get(sheet).data)
        weight = len(r.data) + sum(css[sheet] for sheet in STYLESHEET.findall(html))
        if weight > MAX_FIRST_VISIT:
            heavy[path] = weight
        for link in HREF.findall(html):
            link = link.replace("&amp;", "&")
            if not link.startswith(SKIP) and link not in seen:
                queue.append(link)
    assert broken == [], who
    assert len(seen) > 5, who
    assert duplicates == {}, who
    assert heavy == {}, who
    assert css and all(size > 1000 for size in css.values())  # the stylesheets were measured


def test_duplicate_ids_are_found():
    html = '<p id="body"></p><textarea id="body"></textarea><p id="x"></p>'
    assert duplicate_ids(html) == ["body"]
