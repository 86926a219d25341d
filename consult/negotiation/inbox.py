"""The municipality's inbox: every proposal submitted to it, filtered and sorted, with how
long each waits for an answer (a view of the negotiation blueprint)."""

from flask import render_template, request
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from consult.communities.models import Municipality, Settlement
from consult.communities.service import municipality_page_version
from consult.core.conditional import answer_if_unchanged, page_tag, tag_response, versioned
from consult.core.db import utcnow
from consult.core.enums import ProposalState
from consult.core.forms import load
from consult.extensions import db
from consult.negotiation import bp, service
from consult.negotiation.forms import InboxFilterForm

PER_PAGE = 20


@bp.route("/municipalities/<int:municipality_id>/inbox")
@login_required
@versioned("municipality", municipality_page_version, "municipality_id")
def inbox(municipality_id: int):
    """Every proposal submitted to the municipality, with how long each waits for an answer."""
    not_modified = answer_if_unchanged(page_tag())
    if not_modified is not None:
        return not_modified
    m = load(Municipality, municipality_id, "view_inbox")
    settlements = db.session.execute(
        select(Settlement.id, Settlement.name)
        .where(Settlement.municipality_id == m.id)
        .order_by(Settlement.name)
    ).all()
    form = InboxFilterForm(request.args)
    form.settlement.choices = form.settlement.choices[:1] + [
        SelectChoice(str(id_), name) for id_, name in settlements
    ]
    form.validate()
    # A filter that does not validate (an old link, a typed URL) is ignored, not an error.
    state = ProposalState(form.state.data) if form.state.data and not form.state.errors else None
    settlement_id = (
        int(form.settlement.data) if form.settlement.data and not form.settlement.errors else None
    )
    sort = form.sort.data if not form.sort.errors else "newest"
    page = service.inbox_page(
        m,
        state=state,
        settlement_id=settlement_id,
        sort=sort,
        after=request.args.get("after"),
        before=request.args.get("before"),
        per_page=PER_PAGE,
    )
    now = utcnow()
    filters = {
        k: v
        for k, v in (
            ("state", state.value if state else None),
            ("settlement", settlement_id),
            ("sort", sort if sort != "newest" else None),
        )
        if v
    }
    return tag_response(
        render_template(
            "negotiation/inbox.html",
            municipality=m,
            form=form,
            page=page,
            entries=service.inbox_entries(page.items, m, current_user, now),
            summary=service.inbox_summary(m, now, state=state, settlement_id=settlement_id),
            filters=filters,
        )
    )
