"""Every link each demo role is shown leads somewhere that works: follow them all."""

import re
from collections import deque

import pytest

from consult import demo

HREF = re.compile(r'href="(/[^"#]*)"')
SKIP = ("/static/", "/attachments/")  # files: served, not pages


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
        for link in HREF.findall(r.get_data(as_text=True)):
            link = link.replace("&amp;", "&")
            if not link.startswith(SKIP) and link not in seen:
                queue.append(link)
    assert broken == [], who
    assert len(seen) > 5, who
