"""A proposal's terms side by side: two versions, or a version and a counter-offer."""

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

#: the terms a version shows side by side, with how to print each (money, enum, number, text)
TERM_ROWS = (
    ("title", _l("Title"), "text"),
    ("infrastructure_type", _l("Type"), "enum"),
    ("location", _l("Where"), "text"),
    ("estimated_cost", _l("Estimated cost"), "money"),
    ("amount_requested", _l("Requested from the municipality"), "money"),
    ("community_cash", _l("Community cash"), "money"),
    ("community_labour", _l("Community labour (value)"), "money"),
    ("households_benefiting", _l("Households benefiting"), "number"),
    ("timeline", _l("Timeline"), "text"),
    ("description", _l("Description and scope"), "text"),
)


@dataclass(frozen=True)
class TermRow:
    name: str
    label: object
    kind: str
    before: object
    after: object

    @property
    def changed(self) -> bool:
        return self.before != self.after


def compare_terms(before: dict, after: dict, names: Iterable[str] | None = None) -> list[TermRow]:
    """Every term of two sets of terms (two versions, or a version and an offer), in order."""
    wanted = set(names) if names is not None else None
    return [
        TermRow(name, label, kind, before.get(name), after.get(name))
        for name, label, kind in TERM_ROWS
        if wanted is None or name in wanted
    ]
