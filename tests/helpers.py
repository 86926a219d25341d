"""Small helpers for route tests."""

import re

_TOKEN = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html: bytes) -> str:
    """The CSRF token of the first form in ``html`` (for tests that run with CSRF on)."""
    match = _TOKEN.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1).decode()


def pager_link(html: str, rel: str = "next") -> str:
    """The address of a list's ``rel`` link (``next`` or ``prev``), unescaped."""
    import html as markup

    match = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    assert match, f"no {rel} link on the page"
    return markup.unescape(match.group(1))


def submitted_proposal(make, co, **kw):
    """A proposal of ``co`` as the municipality has it: submitted (or ``state=``), with its
    first version, as the inbox lists it."""
    from consult.core.enums import ProposalState
    from consult.extensions import db
    from consult.proposals.models import ProposalVersion

    p = make.proposal(co, state=kw.pop("state", ProposalState.SUBMITTED), **kw)
    db.session.add(ProposalVersion(proposal=p, number=1, reason="submitted", **p.terms()))
    db.session.flush()
    return p
