"""The vocabularies of the domain. Labels are marked for translation with ``lazy_gettext``."""

import enum

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice


class LabelledEnum(str, enum.Enum):  # noqa: UP042 - StrEnum would not take a label
    """An enum whose members carry a translatable label for forms and pages."""

    def __new__(cls, value: str, label=None):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value
        return member

    def __str__(self) -> str:
        return self.value

    @classmethod
    def choices(cls) -> list[SelectChoice]:
        """Options for a WTForms ``SelectField`` (WTForms 3.3 wants ``SelectChoice``)."""
        return [SelectChoice(m.value, m.label) for m in cls]


class UserRole(LabelledEnum):
    # A resident's CO roles (member, leader, …) live on Membership, not here.
    RESIDENT = "resident", _l("Resident")
    OFFICER = "officer", _l("Municipal officer")
    STAFF = "staff", _l("Programme staff")
    ADMIN = "admin", _l("Administrator")


class Gender(LabelledEnum):
    WOMAN = "woman", _l("Woman")
    MAN = "man", _l("Man")
    OTHER = "other", _l("Other / not stated")


class MembershipRole(LabelledEnum):
    LEADER = "leader", _l("Leader")
    SECRETARY = "secretary", _l("Secretary")
    TREASURER = "treasurer", _l("Treasurer")
    MEMBER = "member", _l("Member")


class COStatus(LabelledEnum):
    FORMING = "forming", _l("Forming")
    ACTIVE = "active", _l("Active")
    DORMANT = "dormant", _l("Dormant")


class Tenure(LabelledEnum):
    OWNED = "owned", _l("Owned / titled")
    RENTED = "rented", _l("Rented")
    INFORMAL = "informal", _l("Informal / squatted")
    PUBLIC_LAND = "public_land", _l("On public land")
    MIXED = "mixed", _l("Mixed")
    UNKNOWN = "unknown", _l("Not known")


class MeetingKind(LabelledEnum):
    CONSULTATION = "consultation", _l("Consultation")
    GENERAL_ASSEMBLY = "general_assembly", _l("General assembly")
    PLANNING = "planning", _l("Planning")
    MUNICIPALITY = "municipality", _l("Meeting with the municipality")
    OTHER = "other", _l("Other")


class ProblemCategory(LabelledEnum):
    DRAINAGE = "drainage", _l("Drainage & flooding")
    WATER = "water", _l("Water supply")
    SANITATION = "sanitation", _l("Sanitation & toilets")
    LANES = "lanes", _l("Access lanes & paths")
    FOOTBRIDGES = "footbridges", _l("Footbridges")
    WASTE = "waste", _l("Solid waste")
    LIGHTING = "lighting", _l("Electricity & lighting")
    HOUSING = "housing", _l("Housing & tenure")
    HEALTH = "health", _l("Health")
    SAFETY = "safety", _l("Safety")
    OTHER = "other", _l("Other")


class ProblemStatus(LabelledEnum):
    OPEN = "open", _l("Open")
    ADDRESSED = "addressed", _l("Addressed by a proposal")
    RESOLVED = "resolved", _l("Resolved")
    CLOSED = "closed", _l("Closed")


class InfrastructureType(LabelledEnum):
    FOOTBRIDGE = "footbridge", _l("Footbridge")
    CONCRETE_LANE = "concrete_lane", _l("Concrete lane")
    DRAINAGE = "drainage", _l("Drainage")
    TOILETS = "toilets", _l("Toilets")
    DRINKING_WATER = "drinking_water", _l("Drinking water")
    SOLID_WASTE = "solid_waste", _l("Solid waste collection")
    LIGHTING = "lighting", _l("Street lighting")
    HOUSING = "housing", _l("Housing improvement")
    OTHER = "other", _l("Other")


class ProposalState(LabelledEnum):
    DRAFT = "draft", _l("Draft")
    VOTING = "voting", _l("Voting")
    APPROVED = "approved", _l("Approved by the community")
    SUBMITTED = "submitted", _l("Submitted")
    UNDER_REVIEW = "under_review", _l("Under review")
    NEGOTIATING = "negotiating", _l("Negotiating")
    AGREED = "agreed", _l("Agreed")
    IN_PROGRESS = "in_progress", _l("In progress")
    COMPLETED = "completed", _l("Completed")
    DECLINED = "declined", _l("Declined")
    WITHDRAWN = "withdrawn", _l("Withdrawn")


class VoteChoice(LabelledEnum):
    YES = "yes", _l("Yes")
    NO = "no", _l("No")
    ABSTAIN = "abstain", _l("Abstain")


class VoteResult(LabelledEnum):
    APPROVED = "approved", _l("Approved")
    REJECTED = "rejected", _l("Rejected")
    NO_QUORUM = "no_quorum", _l("No quorum")


class VoteSubject(LabelledEnum):
    PROPOSAL = "proposal", _l("Approve the proposal")
    COUNTER_OFFER = "counter_offer", _l("Accept the municipality's counter-offer")


class Side(LabelledEnum):
    COMMUNITY = "community", _l("Community")
    MUNICIPALITY = "municipality", _l("Municipality")
    PROGRAMME = "programme", _l("Programme staff")


class MessageKind(LabelledEnum):
    COMMENT = "comment", _l("Comment")
    QUESTION = "question", _l("Question")
    COUNTER_OFFER = "counter_offer", _l("Counter-offer")
    DECISION = "decision", _l("Decision")
    STATUS_NOTE = "status_note", _l("Status note")


class CounterOfferStatus(LabelledEnum):
    PENDING = "pending", _l("Waiting for the community")
    IN_VOTE = "in_vote", _l("Put to a member vote")
    ACCEPTED = "accepted", _l("Accepted")
    REJECTED = "rejected", _l("Rejected")
    WITHDRAWN = "withdrawn", _l("Withdrawn")


class Decision(LabelledEnum):
    ACCEPT = "accept", _l("Accept")
    DECLINE = "decline", _l("Decline")
