"""Imports every feature's models so the metadata is complete (for Alembic and create_all)."""

from consult.api.models import ApiToken
from consult.attachments.models import Attachment
from consult.audit.models import AuditEvent
from consult.auth.models import Invitation, User
from consult.communities.models import CommunityOrganisation, Membership, Municipality, Settlement
from consult.implementation.models import ImplementationUpdate
from consult.meetings.models import Attendance, Meeting
from consult.monitoring.models import DailyFigure, MonitoringMark
from consult.negotiation.models import Message, ThreadRead
from consult.notifications.models import Notification, OutgoingMail
from consult.open311.models import Open311Key
from consult.problems.models import PriorityPoints, PriorityRound, PriorityTally, Problem
from consult.proposals.models import Proposal, ProposalVersion, proposal_problems
from consult.submissions.models import SubmissionKey
from consult.votes.models import Vote, VoteRound, VoteTally

__all__ = [
    "ApiToken",
    "Open311Key",
    "Attachment",
    "Attendance",
    "AuditEvent",
    "CommunityOrganisation",
    "DailyFigure",
    "ImplementationUpdate",
    "Invitation",
    "Meeting",
    "MonitoringMark",
    "Membership",
    "Message",
    "Municipality",
    "Notification",
    "OutgoingMail",
    "PriorityPoints",
    "PriorityRound",
    "PriorityTally",
    "Problem",
    "Proposal",
    "ProposalVersion",
    "Settlement",
    "SubmissionKey",
    "ThreadRead",
    "User",
    "Vote",
    "VoteRound",
    "VoteTally",
    "proposal_problems",
]
