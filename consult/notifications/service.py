"""In-app notifications, and the e-mail outbox they feed.

The in-app sentence is chosen at display time, in the reader's language. An e-mail is written
when the notice is made (in the recipient's language) and queued in ``outgoing_mail`` in the
same transaction, so a rolled-back action sends nothing; ``consult send-mail`` delivers it.
"""

from flask import current_app, has_request_context, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from consult.auth.models import User
from consult.config import DEVELOPMENT_ENVS
from consult.core.db import utcnow
from consult.core.enums import ProposalState, VoteResult
from consult.extensions import db
from consult.notifications.models import Notification, OutgoingMail

PER_PAGE = 30


def notify(
    users, kind: str, *, link: str | None = None, proposal_id: int | None = None, **params
) -> None:
    """Add a notification of ``kind`` for each of ``users`` (duplicates, None and disabled
    accounts skipped).

    Users with an e-mail address also get a queued e-mail when ``SMTP_HOST`` is set.
    """
    seen: set[int] = set()
    mail = bool(current_app.config.get("SMTP_HOST"))
    for user in users:
        if user is None or user.id in seen or not user.active:
            continue
        seen.add(user.id)
        n = Notification(
            user_id=user.id, kind=kind, params=params, link=link, proposal_id=proposal_id
        )
        db.session.add(n)
        if mail and user.email:
            db.session.add(mail_for(user, n))


def mail_for(user: User, n: Notification) -> OutgoingMail:
    """The e-mail telling ``user`` about ``n``, in their language, due now."""
    languages = current_app.config.get("LANGUAGES", {})
    language = user.language if user.language in languages else "en"
    url = absolute_url(n.link)
    with force_locale(language):
        sentence = text(n)
        subject = _("Consult: %(sentence)s", sentence=sentence)
        lines = [_("Hello %(name)s,", name=user.name), "", sentence, ""]
        if url:
            lines += [_("Open it here: %(url)s", url=url), ""]
        everything = absolute_url(link_to("notifications.index"))
        if everything:
            lines.append(_("All your notifications: %(url)s", url=everything))
    return OutgoingMail(
        to_address=user.email,
        subject=_one_line(subject)[:200],
        body="\n".join(lines),
        next_attempt_at=utcnow(),
    )


def absolute_url(path: str | None) -> str | None:
    """``path`` (a site path such as ``/proposals/3``) with the site's public address in front.

    ``BASE_URL`` (scheme and host, e.g. ``https://consult.example.org``) wins; then
    ``SERVER_NAME``; the current request's host only in development, because a client chooses
    its Host header and must not choose where links in other people's e-mail point. None when
    no address is known (the e-mail then goes without a link).
    """
    if not path:
        return None
    config = current_app.config
    base = config.get("BASE_URL")
    if not base and has_request_context() and config["CONSULT_ENV"] in DEVELOPMENT_ENVS:
        base = request.host_url
    if not base and config.get("SERVER_NAME"):
        base = f"{config.get('PREFERRED_URL_SCHEME') or 'http'}://{config['SERVER_NAME']}"
    if not base:
        return None
    return base.rstrip("/") + "/" + path.lstrip("/")


def link_to(endpoint: str, **values) -> str | None:
    """The site path of a page for a notice, or None where no URL can be built (outside a
    request: the command line, seed data); the notice still reads without it."""
    try:
        return url_for(endpoint, **values)
    except RuntimeError:
        return None


def _one_line(s: str) -> str:
    return " ".join(s.split())


# --- reading --------------------------------------------------------------------------------


def unread_count(user: User) -> int:
    return db.session.scalar(select(unread_count_sql(user.id)))


def unread_count_sql(user_id):
    """SQL: how many notifications of the user ``user_id`` (an id or a SQL expression) are
    unread, as a scalar subquery."""
    return (
        select(func.count(Notification.id))
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .scalar_subquery()
    )


def listing(user: User):
    """The user's notifications, newest first, as a query to paginate."""
    return (
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())
    )


def recent(user: User, limit: int = 50) -> list[Notification]:
    return list(db.session.scalars(listing(user).limit(limit)))


def mark_read(n: Notification) -> None:
    """Mark one notification read (once: the first reading time is kept)."""
    if n.read_at is None:
        n.read_at = utcnow()
    db.session.flush()


def mark_all_read(user: User) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )


# --- sentences ------------------------------------------------------------------------------


def text(n: Notification) -> str:
    """The sentence for a notification, translated for whoever reads it now.

    Unknown kinds get a general sentence: a reader never sees a raw kind such as "x.y".
    """
    p = n.params or {}
    title = p.get("title") or ""

    def progress() -> int:
        try:
            return int(p.get("progress") or 0)
        except (TypeError, ValueError):
            return 0

    def label(enum_cls, key: str) -> str:
        """A stored code (e.g. "negotiating") in the reader's language."""
        try:
            return str(enum_cls(p.get(key)).label)
        except ValueError:
            return str(p.get(key) or "")

    def message_posted() -> str:
        """Name what is asked: a counter-offer needs the CO's decision, a question an answer."""
        author = p.get("author", "")
        kind = p.get("message_kind")
        if kind == "counter_offer":
            return _(
                "Decision needed: counter-offer on “%(title)s” from %(author)s.",
                title=title,
                author=author,
            )
        if kind == "question":
            return _("Question for you on “%(title)s” from %(author)s.", title=title, author=author)
        if kind == "decision":
            return _("%(author)s gave a decision on “%(title)s”.", title=title, author=author)
        return _("New message on “%(title)s” from %(author)s.", title=title, author=author)

    sentences = {
        "proposal.state_changed": lambda: _(
            "“%(title)s” is now %(state)s.", title=title, state=label(ProposalState, "state")
        ),
        "proposal.submitted": lambda: _(
            "%(co)s submitted “%(title)s”.", co=p.get("co", ""), title=title
        ),
        "message.posted": message_posted,
        "vote.opened": lambda: (
            _("Your vote is needed: the municipality's counter-offer on “%(title)s”.", title=title)
            if p.get("subject") == "counter_offer"
            else _("Your vote is needed: “%(title)s”.", title=title)
        ),
        "priorities.opened": lambda: _(
            "Your CO is ranking its problems (“%(title)s”): give your points.", title=title
        ),
        "priorities.closed": lambda: _(
            "The priorities are decided (“%(title)s”). First: %(first)s.",
            title=title,
            first=p.get("first") or "—",
        ),
        "vote.closed": lambda: _(
            "The vote on “%(title)s” closed: %(result)s.",
            title=title,
            result=label(VoteResult, "result"),
        ),
        "implementation.updated": lambda: _(
            "Works on “%(title)s” are %(progress)d%% done (update by %(author)s).",
            title=title,
            progress=progress(),
            author=p.get("author", ""),
        ),
        "implementation.commented": lambda: _(
            "%(author)s commented on the works on “%(title)s”.",
            author=p.get("author", ""),
            title=title,
        ),
    }
    sentence = sentences.get(n.kind)
    if sentence is not None:
        return sentence()
    if title:
        return _("There is news on “%(title)s”.", title=title)
    return _("You have a new notification.")
