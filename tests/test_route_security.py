"""Every route, checked mechanically: anonymous visitors are sent to log in, and every POST
is refused without a CSRF token. New routes are covered as soon as they exist.

The JSON API and Open311 take no cookie: the API wants a bearer token (401 JSON without
one, whatever the session says), Open311 files requests only with an ``api_key``; neither can
be driven by a cross-site form, so they need no CSRF token."""

import re

import pytest

PUBLIC = {
    "/",
    "/healthz",
    "/favicon.ico",
    "/login",
    "/invitation/<token>",
    "/static/<path:filename>",
}
#: the OpenAPI document, and Open311's reads (spec: open to any client)
PUBLIC_PREFIXES = ("/api/v1/openapi.json", "/open311/")
TOKEN_ONLY = "/api/"


def _url(rule) -> str:
    """The rule with every variable filled (an id that may not exist is fine here)."""
    fill = {"name": "x.csv", "fmt": "json"}
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: fill.get(m.group(1), "1"), rule.rule)


def _rules(app, method):
    return [r for r in app.url_map.iter_rules() if method in r.methods]


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    checked = 0
    for rule in _rules(app, "GET"):
        if rule.rule in PUBLIC or rule.rule.startswith(PUBLIC_PREFIXES):
            continue
        r = client.get(_url(rule))
        if rule.rule.startswith(TOKEN_ONLY):
            assert r.status_code == 401 and r.is_json, rule.rule
            continue
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
        if rule.rule.startswith(TOKEN_ONLY):
            # the admin's session counts for nothing here
            assert r.status_code == 401 or rule.endpoint == "api_auth.token", rule.rule
        elif rule.rule.startswith("/open311/"):
            assert r.status_code == 403, rule.rule  # no api_key
        else:
            assert r.status_code == 400, rule.rule


@pytest.mark.parametrize("path", ["/logout", "/language", "/notifications/read"])
def test_state_changing_routes_refuse_get(client, path):
    assert client.get(path).status_code == 405
