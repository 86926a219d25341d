"""The JSON API under /api/v1/, built with flask-smorest: marshmallow schemas validate each
request and the same schemas generate the OpenAPI document at /api/v1/openapi.json.

Views call the features' services and ``can()`` exactly as the pages do; the API adds bearer
tokens, JSON errors, keyset pagination and ``Idempotency-Key``.
"""

from flask import Flask
from flask_smorest import Api

from consult.api.schemas import ErrorSchema

PREFIX = "/api/v1"


class ConsultApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        """Errors are answered by the app's one handler (``main``), which gives JSON under
        /api/ and pages elsewhere; flask-smorest's own handler would answer every page
        with JSON."""


def init_app(app: Flask) -> None:
    from consult.api.routes import BLUEPRINTS

    app.config.setdefault("API_TITLE", "Consult")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    # One Api (and one OpenAPI document) per app: tests build several apps.
    api = ConsultApi(
        app,
        spec_kwargs={
            "servers": [{"url": "/"}],
            "components": {
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "cst_…"}
                }
            },
            "security": [{"bearer": []}],
        },
    )
    for blp in BLUEPRINTS:
        api.register_blueprint(blp, url_prefix=PREFIX)
