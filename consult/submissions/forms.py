"""The base of every form that creates a record."""

import secrets

from flask import g, has_app_context
from flask_wtf import FlaskForm
from wtforms import HiddenField


def new_key() -> str:
    if has_app_context():
        # the page may be shown again by Back with this same key (see core/headers.py)
        g.reusable_on_back = True
    return secrets.token_urlsafe(18)


class CreateForm(FlaskForm):
    """A form that creates a record: it carries a one-time ``submission_key``, made when the
    form is shown and sent back with it, so the same form sent twice creates one record
    (see :mod:`consult.submissions`). Templates render ``form.submission_key``."""

    submission_key = HiddenField(default=new_key)
