"""The security log: one JSON object per line for logins, failures, logouts, refusals (403) and
rate limits (429) — who, what, when, from where. Never a password or a token.

Values are JSON-encoded (``json.dumps`` escapes newlines and control characters), so nothing a
visitor types can forge a line. Lines go to ``SECURITY_LOG`` (a file path) or to standard error.
"""

import json
import logging
import sys

from flask import Flask, has_request_context, request

logger = logging.getLogger("consult.security")

_TEXT_LIMIT = 200


class _StandardError(logging.StreamHandler):
    """Standard error as it is when a line is written (not when the handler was made)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def init_app(app: Flask) -> None:
    logger.setLevel(logging.INFO)
    logger.propagate = False  # its own lines, not mixed into the application log
    if logger.handlers:  # one process, several apps (tests): the first one's destination
        return
    path = app.config.get("SECURITY_LOG")
    handler = logging.FileHandler(path, encoding="utf-8") if path else _StandardError()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)


def _short(value) -> str:
    return str(value)[:_TEXT_LIMIT]


def event(name: str, user=None, **fields) -> dict:
    """Write one line about ``name`` (e.g. ``login.failure``); returns what was written."""
    from datetime import UTC, datetime

    entry: dict = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "event": name}
    if user is not None and getattr(user, "id", None) is not None:
        entry["user_id"] = user.id
    if has_request_context():
        entry["ip"] = request.remote_addr
        entry["method"] = request.method
        entry["path"] = _short(request.path)
        entry["user_agent"] = _short(request.user_agent.string)
    for key, value in fields.items():
        entry[key] = value if isinstance(value, int | bool | None) else _short(value)
    logger.info(json.dumps(entry, ensure_ascii=True, sort_keys=False))
    return entry
