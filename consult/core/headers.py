"""Security headers on every response, in one place.

No script runs from anywhere but our own files (there are none inline), the site cannot be
framed, types are not sniffed, other sites are not told our URLs, browsers keep to HTTPS outside
development, and nothing a logged-in person sees is stored by a proxy, nor by a browser except
a form page that Back must bring back with its one-time key.
"""

from urllib.parse import urlsplit

from flask import Flask, current_app, g, request, session

from consult.config import DEVELOPMENT_ENVS

HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(tiles_url: str | None = None) -> str:
    images = ["'self'", "data:"]
    if tiles_url:
        parts = urlsplit(tiles_url)
        images.append(f"{parts.scheme}://{parts.netloc}")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # styles only: pygal's charts carry their own <style> and a few bars are sized
            # by a style attribute; no script can run from either
            "style-src 'self' 'unsafe-inline'",
            "img-src " + " ".join(images),
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _secure_headers(response):
    headers = response.headers
    config = current_app.config
    headers.setdefault("Content-Security-Policy", content_security_policy(config["MAP_TILES_URL"]))
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if config["CONSULT_ENV"] not in DEVELOPMENT_ENVS:
        headers.setdefault("Strict-Transport-Security", HSTS)
    # pages and exports of a logged-in person (asked of the session, not the database: this
    # runs on the 503 page too)
    if request.endpoint != "static" and "Cache-Control" not in headers and "_user_id" in session:
        # A page with a create form's one-time key (g.reusable_on_back) must come back on Back
        # with that same key, so that Save again finds the record already made: no-store would
        # make the browser fetch a fresh form with a fresh key, and Save would make a second.
        # private keeps it out of shared caches; no-cache makes every ordinary visit ask again.
        reusable = g.get("reusable_on_back")
        headers["Cache-Control"] = "private, no-cache" if reusable else "no-store"
    return response


def init_app(app: Flask) -> None:
    app.after_request(_secure_headers)
