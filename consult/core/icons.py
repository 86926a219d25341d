"""Pictograms beside the words, for readers who read little: one Lucide icon (from the
``lucide`` package, rendered inline as SVG) for each category, infrastructure type, proposal
state and vote choice. The word stays beside it as the label; the icon is decoration."""

import enum
import functools
import re

from lucide import IconDoesNotExist
from lucide.jinja import lucide
from markupsafe import Markup

from consult.core.enums import (
    InfrastructureType,
    MeetingKind,
    ProblemCategory,
    ProposalState,
    VoteChoice,
)

#: (vocabulary, member) → Lucide icon name; keyed by both, as members of two vocabularies
#: may share a value ("drainage")
ICONS: dict = {
    (ProblemCategory, ProblemCategory.DRAINAGE): "cloud-rain",
    (ProblemCategory, ProblemCategory.WATER): "droplet",
    (ProblemCategory, ProblemCategory.SANITATION): "toilet",
    (ProblemCategory, ProblemCategory.LANES): "route",
    (ProblemCategory, ProblemCategory.FOOTBRIDGES): "footprints",
    (ProblemCategory, ProblemCategory.WASTE): "trash-2",
    (ProblemCategory, ProblemCategory.LIGHTING): "lightbulb",
    (ProblemCategory, ProblemCategory.HOUSING): "house",
    (ProblemCategory, ProblemCategory.HEALTH): "heart-pulse",
    (ProblemCategory, ProblemCategory.SAFETY): "shield",
    (ProblemCategory, ProblemCategory.OTHER): "ellipsis",
    (InfrastructureType, InfrastructureType.FOOTBRIDGE): "footprints",
    (InfrastructureType, InfrastructureType.CONCRETE_LANE): "route",
    (InfrastructureType, InfrastructureType.DRAINAGE): "cloud-rain",
    (InfrastructureType, InfrastructureType.TOILETS): "toilet",
    (InfrastructureType, InfrastructureType.DRINKING_WATER): "glass-water",
    (InfrastructureType, InfrastructureType.SOLID_WASTE): "trash-2",
    (InfrastructureType, InfrastructureType.LIGHTING): "lamp",
    (InfrastructureType, InfrastructureType.HOUSING): "house",
    (InfrastructureType, InfrastructureType.OTHER): "ellipsis",
    (ProposalState, ProposalState.DRAFT): "pencil",
    (ProposalState, ProposalState.VOTING): "vote",
    (ProposalState, ProposalState.APPROVED): "thumbs-up",
    (ProposalState, ProposalState.SUBMITTED): "send",
    (ProposalState, ProposalState.UNDER_REVIEW): "eye",
    (ProposalState, ProposalState.NEGOTIATING): "messages-square",
    (ProposalState, ProposalState.AGREED): "handshake",
    (ProposalState, ProposalState.IN_PROGRESS): "hammer",
    (ProposalState, ProposalState.COMPLETED): "circle-check",
    (ProposalState, ProposalState.DECLINED): "circle-x",
    (ProposalState, ProposalState.WITHDRAWN): "undo-2",
    (VoteChoice, VoteChoice.YES): "thumbs-up",
    (VoteChoice, VoteChoice.NO): "thumbs-down",
    (VoteChoice, VoteChoice.ABSTAIN): "circle-minus",
    (MeetingKind, MeetingKind.CONSULTATION): "users",
    (MeetingKind, MeetingKind.GENERAL_ASSEMBLY): "users",
    (MeetingKind, MeetingKind.PLANNING): "calendar",
    (MeetingKind, MeetingKind.MUNICIPALITY): "landmark",
    (MeetingKind, MeetingKind.OTHER): "calendar",
}


def icon(what, size: int = 20) -> Markup:
    """The inline SVG for an enum member (see ``ICONS``) or a Lucide icon name, hidden from
    screen readers (the text beside it is the label). Unknown: nothing."""
    name = ICONS.get((type(what), what)) if isinstance(what, enum.Enum) else what
    return _svg(name, size) if name else Markup("")


@functools.lru_cache(maxsize=256)
def _svg(name: str, size: int) -> Markup:
    try:
        svg = lucide(
            name, size=size, **{"aria-hidden": "true", "focusable": "false", "class": "icon"}
        )
    except IconDoesNotExist:
        return Markup("")
    # the package's own SVG, no user text; without indentation pages stay small
    return Markup(re.sub(r">\s+<", "><", str(svg)))  # noqa: S704
