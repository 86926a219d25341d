"""No input gives a 5xx: every route of ``url_map`` with hostile ids and query strings, and every
form the demo shows (found by following the links each role sees) submitted with hostile values.
"""

import html
import re
from collections import deque

import pytest

from consult import demo

#: ids and numbers an attacker or a broken link sends: past PostgreSQL's integer (2**31), past
#: SQLite's (2**63), negative, zero, not a number at all
HOSTILE_IDS = [
    "0",
    "-1",
    "2147483648",
    "9223372036854775808",
    "99999999999999999999999",
    "abc",
]
HOSTILE_VALUES = [
    "",
    "-1",
    "99999999999999999999999",
    "1e308",
    "NaN",
    "١٢٣",
    "' OR 1=1--<script>\x00",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "x" * 5000,
]
QUERY_NAMES = [
    "page",
    "after",
    "before",
    "co_id",
    "meeting_id",
    "meeting",
    "a",
    "b",
    "q",
    "state",
    "sort",
    "next",
]
SKIP_POSTS = {"/logout", "/language"}
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.DOTALL | re.IGNORECASE)
NAME = re.compile(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', re.IGNORECASE)
HREF = re.compile(r'href="(/[^"#]*)"')
LOGINS = dict(demo.LOGINS)
ROLES = [
    LOGINS["Administrator"],
    LOGINS["CO leader, Boeung Trabek (phone)"],
    LOGINS["Municipal officer, Phnom Penh"],
]


def _attr(attrs: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', attrs)
    return html.unescape(found.group(1)) if found else None


@pytest.fixture
def demo_app(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash is a 500 to count, as in production
    yield app
    app.config["PROPAGATE_EXCEPTIONS"] = None


def _logged_in(app, login):
    client = app.test_client()
    r = client.post("/login", data={"login": login, "password": app.config["DEMO_PASSWORD"]})
    assert r.status_code == 302
    return client


def _fill(rule, value: str) -> list[str]:
    """The rule's URL once per variable set to ``value`` (the others 1)."""
    names = re.findall(r"<(?:[^:<>]+:)?([^<>]+)>", rule.rule)
    urls = []
    for hostile in names:
        url = rule.rule
        for name in names:
            filler = value if name == hostile else ("x.csv" if name == "name" else "1")
            url = re.sub(rf"<(?:[^:<>]+:)?{name}>", filler, url, count=1)
        urls.append(url)
    return urls


def test_every_route_with_hostile_ids_and_queries(demo_app):
    client = _logged_in(demo_app, ROLES[0])
    failures, checked = [], 0
    for rule in demo_app.url_map.iter_rules():
        if rule.rule.startswith("/static") or rule.rule in SKIP_POSTS:
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        urls = [u for v in HOSTILE_IDS for u in _fill(rule, v)] or [rule.rule]
        if method == "GET":
            base = _fill(rule, "1")[0] if "<" in rule.rule else rule.rule
            urls += [f"{base}?" + "&".join(f"{n}={v}" for n in QUERY_NAMES) for v in HOSTILE_IDS]
        for url in urls:
            r = client.open(url, method=method)
            checked += 1
            if r.status_code >= 500:
                failures.append((method, url, r.status_code))
    assert not failures, "\n".join(map(str, failures))
    assert checked > 500


def _forms(client, start="/", limit=80):
    """(method, action, field names) of every form on the pages reachable from ``start``."""
    seen, queue, forms = set(), deque([start]), {}
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen or path.startswith(("/static/", "/attachments/")):
            continue
        seen.add(path)
        r = client.get(path)
        if r.status_code in (301, 302):
            queue.append(r.headers["Location"].removeprefix("http://localhost"))
            continue
        if r.status_code != 200 or r.mimetype != "text/html":
            continue
        page = r.get_data(as_text=True)
        for attrs, body in FORM.findall(page):
            method = (_attr(attrs, "method") or "get").upper()
            action = _attr(attrs, "action") or path
            names = tuple(sorted(set(NAME.findall(body)) - {"csrf_token"}))
            forms.setdefault((method, action.split("?")[0], names), None)
        for link in HREF.findall(page):
            link = html.unescape(link)
            if link not in seen:
                queue.append(link)
    return list(forms)


@pytest.mark.parametrize("role", range(len(ROLES)))
def test_every_form_with_hostile_values(demo_app, role):
    client = _logged_in(demo_app, ROLES[role])
    forms = _forms(client)
    assert len(forms) > 5
    failures = []
    for method, action, names in forms:
        if action in SKIP_POSTS:
            continue
        for value in HOSTILE_VALUES:
            data = {name: value for name in names}
            if method == "POST":
                r = client.post(action, data=data)
            else:
                r = client.get(action, query_string=data)
            if r.status_code >= 500:
                failures.append((method, action, value[:20], r.status_code))
    assert not failures, "\n".join(map(str, failures))


@pytest.mark.parametrize("big", [2**31, 2**63, 10**23])
def test_ids_the_database_cannot_hold_are_not_found(client, world, login, big):
    login(world.admin)
    assert client.get(f"/proposals/{big}").status_code == 404
    assert client.get(f"/co/{big}").status_code == 404
    assert client.get(f"/problems/{world.co.id}?meeting_id={big}").status_code < 500


@pytest.mark.parametrize("path", ["/admin/people", "/notifications"])
def test_a_page_past_the_end_is_the_last_page(client, world, login, path):
    login(world.admin)
    r = client.get(f"{path}?page=99999999999999999999999")
    assert r.status_code == 200
    assert client.get(f"{path}?page=-5").status_code == 200
    if path == "/admin/people":
        assert "Outsider" in r.get_data(as_text=True)
