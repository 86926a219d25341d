"""Errors under /api/ are always JSON: ``{"error": {"code", "message", "fields"}}``."""

from flask import jsonify
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

#: a short, stable code per status, for clients to branch on
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
}


def error_body(status: int, message: str, fields: dict | None = None, code: str | None = None):
    return {
        "error": {
            "code": code or CODES.get(status, "error"),
            "message": str(message),
            "fields": fields or {},
        }
    }


def error_response(status: int, message: str, fields: dict | None = None, code=None):
    response = jsonify(error_body(status, message, fields, code))
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="consult"'
    return response


def _flatten(messages) -> dict:
    """webargs' ``{"json": {"title": ["…"]}}`` → ``{"title": ["…"]}``."""
    fields: dict = {}
    if not isinstance(messages, dict):
        return fields
    for location, errors in messages.items():
        if isinstance(errors, dict):
            for name, problems in errors.items():
                fields[str(name)] = _as_list(problems)
        else:
            fields[str(location)] = _as_list(errors)
    return fields


def _as_list(problems) -> list[str]:
    if isinstance(problems, dict):
        return [f"{k}: {'; '.join(_as_list(v))}" for k, v in problems.items()]
    if isinstance(problems, list | tuple):
        return [str(p) for p in problems]
    return [str(problems)]


def http_error_response(error: HTTPException):
    """The JSON form of any HTTP error raised under /api/ (abort, validation, rate limit)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    fields = _flatten(data.get("messages")) if isinstance(data, dict) else {}
    message = (data.get("message") if isinstance(data, dict) else None) or {
        401: _("A valid bearer token is needed."),
        404: _("Not found."),
        405: _("This method is not allowed here."),
        422: _("Some fields are not valid."),
        429: _("Too many requests. Please wait a minute and try again."),
    }.get(status, error.description)
    response = error_response(status, message, fields)
    for name, value in getattr(error, "get_headers", lambda: [])():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response
