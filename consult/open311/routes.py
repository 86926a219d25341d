"""Open311 GeoReport v2 views: ``discovery``, ``services``, ``services/<code>``,
``requests`` (GET with the spec's filters, POST with an ``api_key``), ``requests/<id>``;
each as ``.json`` or ``.xml`` with the spec's field names.

Reading is open, as Open311 clients expect (titles, categories, places and status of
problems; never who reported them). Filing needs an ``api_key`` a CO's leader issued.
Requests are created at once, so there is no ``tokens/<token>``.
"""

from xml.etree import ElementTree as ET  # noqa: S405 - only builds XML, never parses it

from flask import Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from consult.extensions import csrf, db, limiter
from consult.open311 import bp, service

FORMAT = "<any(json,xml):fmt>"
#: the XML element for each item of a list, by the list's root element
ITEM = {
    "services": "service",
    "service_requests": "request",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "errors": "error",
}

csrf.exempt(bp)  # filing is authorised by the api_key in the form, never by a cookie


def _element(name: str, value) -> ET.Element:
    el = ET.Element(name)
    if isinstance(value, dict):
        for k, v in value.items():
            el.append(_element(k, v))
    elif isinstance(value, list):
        for v in value:
            el.append(_element(ITEM.get(name, "item"), v))
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif value is not None:
        el.text = str(value)
    return el


def _answer(fmt: str, root: str, data, status: int = 200):
    if fmt == "json":
        response = jsonify(data)
        response.status_code = status
        return response
    body = ET.tostring(_element(root, data), encoding="unicode")
    return Response(
        '<?xml version="1.0" encoding="utf-8"?>' + body,
        status=status,
        mimetype="text/xml",
    )


def _error(fmt: str, status: int, description: str):
    return _answer(fmt, "errors", [{"code": status, "description": description}], status)


def _fmt() -> str:
    return "xml" if request.path.endswith(".xml") else "json"


@bp.errorhandler(service.Open311Error)
def _refused(error: service.Open311Error):
    db.session.rollback()
    return _error(_fmt(), error.status, str(error))


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return _error(_fmt(), error.code or 500, error.description or error.name)


def _media_url(attachment) -> str:
    return url_for("attachments.download", attachment_id=attachment.id, _external=True)


def _post_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route(f"/discovery.{FORMAT}")
def discovery(fmt: str):
    base = url_for("open311.services", fmt="json", _external=True).rsplit("/", 1)[0]
    return _answer(
        fmt,
        "discovery",
        {
            "changeset": "2026-11-30T00:00:00Z",
            "contact": current_app.config.get("SMTP_FROM"),
            "key_service": "Ask the leader of your community organisation for an api_key.",
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": base,
                    "changeset": "2026-11-30T00:00:00Z",
                    "type": "production",
                    "formats": ["application/json", "text/xml"],
                }
            ],
        },
    )


@bp.route(f"/services.{FORMAT}")
def services(fmt: str):
    return _answer(fmt, "services", service.services())


@bp.route(f"/services/<code>.{FORMAT}")
def service_definition(code: str, fmt: str):
    return _answer(fmt, "service_definition", service.service_definition(code))


def _readable_co() -> tuple[bool, int | None]:
    """Whose requests this reader may see: ``(True, None)`` every CO's when the operator
    publishes them (``OPEN311_PUBLIC_READS``); ``(True, co_id)`` the CO whose live ``api_key``
    came with the request; ``(False, None)`` nobody's. Problems are not public by default:
    on the pages only the CO, its municipality and programme staff see them."""
    if current_app.config["OPEN311_PUBLIC_READS"]:
        return True, None
    key = service.find_key(request.args.get("api_key"))
    return (True, key.co_id) if key is not None else (False, None)


@bp.route(f"/requests.{FORMAT}", methods=["GET"])
def requests(fmt: str):
    allowed, co_id = _readable_co()
    if not allowed:
        return _error(fmt, 403, "A valid api_key is needed to read requests.")
    found = service.find_requests(request.args, co_id=co_id)
    return _answer(fmt, "service_requests", service.as_requests(found, _media_url))


@bp.route(f"/requests.{FORMAT}", methods=["POST"])
@limiter.limit(_post_limit)
def file_request(fmt: str):
    key = service.find_key(request.form.get("api_key"))
    if key is None:
        return _error(fmt, 403, "A valid api_key is needed to file a request.")
    problem = service.file_request(key, request.form)
    db.session.commit()
    return _answer(
        fmt,
        "service_requests",
        [{"service_request_id": str(problem.id), "service_notice": None, "account_id": None}],
        201,
    )


@bp.route(f"/requests/<int:request_id>.{FORMAT}")
def request_detail(request_id: int, fmt: str):
    from consult.problems.models import Problem

    allowed, co_id = _readable_co()
    if not allowed:
        return _error(fmt, 403, "A valid api_key is needed to read requests.")
    problem = db.session.get(Problem, request_id) if request_id <= 2**31 - 1 else None
    if problem is None or co_id not in (None, problem.co_id):
        return _error(fmt, 404, "No such service request.")
    return _answer(fmt, "service_requests", service.as_requests([problem], _media_url))
