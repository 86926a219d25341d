"""Every route, checked mechanically: anonymous visitors are sent to log in, and every POST
is refused without a CSRF token. New routes are covered as soon as they exist."""

import re

import pytest

PUBLIC = {"/", "/healthz", "/login", "/invitation/<token>", "/static/<path:filename>"}


def _url(rule) -> str:
    """The rule with every variable filled (an id that may not exist is fine here)."""
    return re.sub(
        r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: "x.csv" if m.group(1) == "name" else "1", rule.rule
    )


def _rules(app, method):
    return [r for r in app.url_map.iter_rules() if method in r.methods]


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    checked = 0
    for rule in _rules(app, "GET"):
        if rule.rule in PUBLIC:
            continue
        r = client.get(_url(rule))
        assert r.status_code == 302, rule.rule
        assert "/login" in r.headers["Location"], rule.rule
        checked += 1
    assert checked > 20


def test_every_post_needs_a_csrf_token(csrf_app, world, login):
    client = csrf_app.test_client()
    login(world.admin, client)
    posts = [r for r in _rules(csrf_app, "POST")]
    assert len(posts) > 20
    for rule in posts:
        r = client.post(_url(rule), data={"anything": "1"})
        assert r.status_code == 400, rule.rule


@pytest.mark.parametrize("path", ["/logout", "/language", "/notifications/read"])
def test_state_changing_routes_refuse_get(client, path):
    assert client.get(path).status_code == 405
