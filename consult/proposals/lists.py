"""A CO's proposals as bounded lists: counts by state, the newest few, one page at a time."""

from sqlalchemy import Integer, Select, bindparam, func, select

from consult.communities.models import CommunityOrganisation
from consult.communities.service import co_version
from consult.core.enums import ProposalState
from consult.core.pages import KeysetPage, keyset_page
from consult.extensions import db
from consult.proposals.models import Proposal


def visible(co: CommunityOrganisation, *, internal: bool) -> Select:
    """The CO's proposals the reader may list: all for its own people, only those submitted
    for the municipality's officers."""
    query = select(Proposal).where(Proposal.co_id == co.id)
    if not internal:
        query = query.where(Proposal.submitted_at.is_not(None))
    return query


def state_counts_query(co: CommunityOrganisation, *, internal: bool) -> Select:
    """A one-row SELECT of how many of the CO's proposals are in each state, one column per
    state named by its value (read from ``ix_proposals_co_state``). A page adds the columns of
    its other figures to read them in the same statement; :func:`by_state` reads the row."""
    counts = [func.count().filter(Proposal.state == s).label(s.value) for s in ProposalState]
    return select(*counts).where(visible(co, internal=internal).whereclause)


def by_state(row) -> dict[ProposalState, int]:
    """The states with proposals, from a row of :func:`state_counts_query`, in workflow order."""
    return {s: getattr(row, s.value) for s in ProposalState if getattr(row, s.value)}


def newest(co: CommunityOrganisation, *, internal: bool, limit: int = 5) -> list[Proposal]:
    """The CO's latest proposals, newest first."""
    return list(
        db.session.scalars(
            visible(co, internal=internal)
            .order_by(Proposal.created_at.desc(), Proposal.id.desc())
            .limit(limit)
        )
    )


def page(
    co: CommunityOrganisation,
    *,
    internal: bool,
    state: ProposalState | None = None,
    after: str | None = None,
    before: str | None = None,
    per_page: int = 20,
) -> KeysetPage:
    """One page of the CO's proposals, newest first (keyset on ``ix_proposals_co_created``)."""
    query = visible(co, internal=internal)
    if state is not None:
        query = query.where(Proposal.state == state)
    return keyset_page(
        query,
        [Proposal.created_at, Proposal.id],
        after=after,
        before=before,
        per_page=per_page,
    )


def proposal_page_version() -> tuple[list, Select]:
    """A proposal's page (and its thread): the version of its CO's pages, in terms of the bound
    parameter ``proposal_id`` (see ``consult.core.conditional.page_tag``)."""
    co = select(Proposal.co_id).where(Proposal.id == bindparam("proposal_id", type_=Integer))
    return co_version(co.scalar_subquery()), co
