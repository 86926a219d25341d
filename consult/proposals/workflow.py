"""The proposal workflow: one table of (action, from state, who) → next state.

Anything not in the table is refused. Services call :func:`transition`; policies call
:func:`allowed_actions` to decide which buttons a person sees.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from consult.core.enums import ProposalState as S
from consult.core.refusal import Refusal

LEADER, OFFICER, STAFF = "leader", "officer", "staff"
#: the platform itself, e.g. ``consult close-votes`` closing a vote whose time is up; no
#: person is ever given this role by ``proposal_actor``
SYSTEM = "system"

BEFORE_AGREED = (S.DRAFT, S.VOTING, S.APPROVED, S.SUBMITTED, S.UNDER_REVIEW, S.NEGOTIATING)
WITH_MUNICIPALITY = (S.SUBMITTED, S.UNDER_REVIEW, S.NEGOTIATING)


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[S, ...]
    actors: tuple[str, ...]
    #: the possible next states; the service picks one where there are several
    targets: tuple[S, ...]
    label: object


TRANSITIONS: tuple[Transition, ...] = (
    Transition("open_vote", (S.DRAFT,), (LEADER,), (S.VOTING,), _l("Open the vote")),
    Transition(
        "close_vote", (S.VOTING,), (LEADER, SYSTEM), (S.APPROVED, S.DRAFT), _l("Close the vote")
    ),
    Transition("submit", (S.APPROVED,), (LEADER,), (S.SUBMITTED,), _l("Submit to municipality")),
    Transition("revise", (S.APPROVED, S.DECLINED), (LEADER,), (S.DRAFT,), _l("Revise")),
    Transition("withdraw", BEFORE_AGREED, (LEADER,), (S.WITHDRAWN,), _l("Withdraw")),
    Transition("acknowledge", (S.SUBMITTED,), (OFFICER,), (S.UNDER_REVIEW,), _l("Acknowledge")),
    Transition(
        "question",
        (S.SUBMITTED, S.UNDER_REVIEW, S.NEGOTIATING),
        (OFFICER,),
        (S.NEGOTIATING,),
        _l("Ask a question"),
    ),
    Transition(
        "counter_offer",
        (S.SUBMITTED, S.UNDER_REVIEW, S.NEGOTIATING),
        (OFFICER,),
        (S.NEGOTIATING,),
        _l("Make a counter-offer"),
    ),
    Transition(
        "answer_counter_offer",
        (S.NEGOTIATING,),
        (LEADER,),
        (S.NEGOTIATING,),
        _l("Answer the counter-offer"),
    ),
    Transition("accept", (S.UNDER_REVIEW, S.NEGOTIATING), (OFFICER,), (S.AGREED,), _l("Accept")),
    Transition("decline", WITH_MUNICIPALITY, (OFFICER,), (S.DECLINED,), _l("Decline")),
    Transition("start", (S.AGREED,), (OFFICER, STAFF), (S.IN_PROGRESS,), _l("Start works")),
    Transition(
        "complete", (S.IN_PROGRESS,), (OFFICER, STAFF), (S.COMPLETED,), _l("Mark completed")
    ),
)

BY_ACTION = {t.action: t for t in TRANSITIONS}


class TransitionRefused(Refusal):
    """The workflow does not allow this action now; the message says why, for the page."""


def find(action: str) -> Transition:
    try:
        return BY_ACTION[action]
    except KeyError:
        raise TransitionRefused(_l("Unknown action.")) from None


def is_allowed(state: S, action: str, actor: str | None) -> bool:
    t = BY_ACTION.get(action)
    return bool(t and state in t.sources and actor in t.actors)


def next_state(state: S, action: str, actor: str | None, target: S | None = None) -> S:
    """The state after ``action``, or :class:`TransitionRefused` with a readable reason."""
    t = find(action)
    if state not in t.sources:
        raise TransitionRefused(
            _l(
                "“%(action)s” is not possible while the proposal is %(state)s.",
                action=t.label,
                state=state.label,
            )
        )
    if actor not in t.actors:
        raise TransitionRefused(_l("Your role does not allow “%(action)s”.", action=t.label))
    chosen = target or t.targets[0]
    if chosen not in t.targets:
        raise TransitionRefused(_l("That outcome is not possible for this action."))
    return chosen


def allowed_actions(state: S, actor: str | None) -> list[Transition]:
    return [t for t in TRANSITIONS if state in t.sources and actor in t.actors]
