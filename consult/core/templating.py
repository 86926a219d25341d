"""What every template can use: policies and formatting filters."""

from urllib.parse import urlsplit

from flask import Flask, current_app, g, render_template, request
from flask_babel import get_locale, get_translations
from flask_login import current_user
from flask_wtf import FlaskForm

from consult.core import formatting
from consult.core.icons import icon
from consult.core.permissions import can


class ActionForm(FlaskForm):
    """A form with nothing but the CSRF token, for POST buttons (Vote, Close, Withdraw…)."""


def confirm_page(*, title, question, action: str, button, cancel: str, consequence=None):
    """The second screen of an action that cannot be undone (Remove, Close, Submit): what
    will happen, a button that POSTs to ``action`` and a way back to ``cancel``. Shown for a
    GET of the action's URL, so the first tap only asks; it works without JavaScript."""
    return render_template(
        "confirm.html",
        title=title,
        question=question,
        consequence=consequence,
        action=action,
        button=button,
        cancel=cancel,
    )


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = formatting.money
    app.jinja_env.filters["datetime"] = formatting.local_datetime
    app.jinja_env.filters["date"] = formatting.local_date
    app.jinja_env.filters["number"] = formatting.number
    app.jinja_env.filters["count"] = formatting.count
    app.jinja_env.globals["percent"] = formatting.percent
    app.jinja_env.globals["zone_label"] = formatting.zone_label
    app.jinja_env.globals["can"] = lambda action, obj=None: can(current_user, action, obj)
    # Templates only render its CSRF token. Without form data it never reads the request
    # body, so an error page about that very body (413) can still render base.html.
    app.jinja_env.globals["ActionForm"] = lambda: ActionForm(formdata=None)
    app.jinja_env.globals["icon"] = icon

    app.jinja_env.globals["back"] = back
    # Flask-Babel's own callables, with the translations looked up once per request
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )

    @app.context_processor
    def _common():
        return {
            "languages": current_app.config["LANGUAGES"],
            "current_locale": str(get_locale()),
        }


def _translations():
    """The translations of the language in force (Flask-Babel's), looked up once per request
    and language: its own look-up runs some 25 calls for every string, and a page translates
    hundreds. Keyed by the locale, so a message rendered inside ``force_locale`` (an email
    in its reader's language) gets that language's."""
    locale = get_locale()
    cached = g.get("_translations")
    if cached is None or cached[0] is not locale:
        cached = g._translations = (locale, get_translations())
    return cached[1]


def back(default: str) -> str:
    """A back link to the list page ``default``, keeping the filters and page the reader had
    there: the page the browser came from (its Referer) when it is that same list on this
    site; otherwise ``default`` itself."""
    ref = request.referrer
    if not ref:
        return default
    came_from = urlsplit(ref)
    if came_from.netloc not in ("", request.host) or came_from.path != urlsplit(default).path:
        return default
    return came_from.path + (f"?{came_from.query}" if came_from.query else "")
