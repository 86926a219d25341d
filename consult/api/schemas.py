"""The API's marshmallow schemas: they validate requests and describe every answer in the
OpenAPI document. Money is a decimal string with its currency code; times are ISO 8601
with an offset."""

import copy
from datetime import UTC, datetime
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, missing, validate, validates_schema

from consult.core.enums import (
    Decision,
    InfrastructureType,
    MeetingKind,
    MessageKind,
    ProblemCategory,
    ProblemStatus,
    ProposalState,
    VoteChoice,
)
from consult.proposals import workflow

#: the largest id any table holds (PostgreSQL ``integer``)
MAX_ID = 2**31 - 1
#: money columns are NUMERIC(14, 2)
MAX_AMOUNT = Decimal("999999999999.99")
AMOUNT_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _values(enum_cls) -> list[str]:
    return [m.value for m in enum_cls]


def _no_control_characters(value: str) -> None:
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValidationError("Control characters are not allowed.")


class Text(fields.String):
    """A string without NUL or other control characters, at most ``max`` long."""

    def __init__(self, *, max: int | None = None, min: int | None = None, **kw):  # noqa: A002
        checks = [_no_control_characters]
        if max is not None or min is not None:
            checks.append(validate.Length(min=min, max=max))
        kw.setdefault("validate", checks)
        super().__init__(**kw)


class Id(fields.Integer):
    def __init__(self, **kw):
        kw.setdefault("validate", validate.Range(min=1, max=MAX_ID))
        super().__init__(**kw)


class Count(fields.Integer):
    """A count of people or households."""

    def __init__(self, **kw):
        kw.setdefault("validate", validate.Range(min=0, max=10_000_000))
        kw.setdefault("strict", True)
        super().__init__(**kw)


def _amount_in_range(value: Decimal) -> None:
    if not Decimal(0) <= value <= MAX_AMOUNT:
        raise ValidationError(f"Must be from 0 to {MAX_AMOUNT}.")


class Amount(fields.Decimal):
    """An amount in, as a decimal string ("1500000.00"), at most two decimals; never a
    float."""

    def __init__(self, **kw):
        kw.setdefault("places", None)
        kw.setdefault("as_string", True)
        kw.setdefault("validate", _amount_in_range)
        metadata = {"type": "string", "pattern": AMOUNT_PATTERN, "example": "1500000.00"}
        kw["metadata"] = {**metadata, **kw.get("metadata", {})}
        super().__init__(**kw)

    def _validated(self, value):
        number = super()._validated(value)
        if number is not None and number != number.quantize(Decimal("0.01")):
            raise self.make_error("invalid")
        return number


class When(fields.AwareDateTime):
    """An ISO 8601 time with its offset; naive times are refused rather than guessed at."""

    def __init__(self, **kw):
        kw.setdefault("format", "iso")
        kw.setdefault("validate", validate.Range(min=EARLIEST, max=LATEST))
        super().__init__(**kw)


class Money(Schema):
    amount = fields.String(required=True, metadata={"example": "1500000.00"})
    currency = fields.String(required=True, metadata={"example": "KHR"})


def money(amount, currency: str) -> dict | None:
    if amount is None:
        return None
    return {"amount": f"{Decimal(amount):.2f}", "currency": currency}


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- errors ---------------------------------------------------------------------------------


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetail, required=True)


# --- paging ---------------------------------------------------------------------------------


class PageArgs(Schema):
    cursor = Text(max=40, metadata={"description": "next_cursor of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


def page_of(item_schema):
    """A page of ``item_schema`` items with the cursor of the next page."""
    return type(
        f"{item_schema.__name__.removesuffix('Schema')}Page",
        (Schema,),
        {
            "items": fields.List(fields.Nested(item_schema), required=True),
            "next_cursor": fields.String(
                required=True, allow_none=True, metadata={"description": "null on the last page"}
            ),
        },
    )


# --- tokens and people ----------------------------------------------------------------------


class TokenRequest(Schema):
    login = Text(required=True, max=254, metadata={"description": "phone number or e-mail"})
    password = fields.String(required=True, validate=validate.Length(max=500))
    days = fields.Integer(load_default=30, validate=validate.Range(min=1, max=365))
    name = Text(max=80, load_default=None, allow_none=True)


class TokenSchema(Schema):
    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    prefix = fields.String(required=True)
    name = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    expires_at = fields.String(required=True)
    last_used_at = fields.String(allow_none=True)
    revoked_at = fields.String(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(required=True, metadata={"description": "shown once; keep it secret"})
    token_type = fields.String(required=True, metadata={"example": "Bearer"})


class MembershipSchema(Schema):
    id = fields.Integer(required=True)
    co_id = fields.Integer(required=True)
    co_name = fields.String(required=True)
    role = fields.String(required=True)
    joined_on = fields.Date(required=True)


class MeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    role = fields.String(required=True)
    language = fields.String(allow_none=True)
    municipality_id = fields.Integer(allow_none=True)
    memberships = fields.List(fields.Nested(MembershipSchema), required=True)


class PersonSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


# --- communities, meetings, problems --------------------------------------------------------


class MunicipalitySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    country = fields.String(required=True)
    currency = fields.String(required=True)
    timezone = fields.String(required=True)


class CommunitySchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    status = fields.String(required=True)
    formed_on = fields.Date(required=True)
    settlement_id = fields.Integer(required=True)
    settlement_name = fields.String(required=True)
    municipality = fields.Nested(MunicipalitySchema, required=True)
    quorum_percent = fields.Integer(required=True)
    threshold_percent = fields.Integer(required=True)
    priority_points = fields.Integer(required=True)


class CommunityArgs(PageArgs):
    municipality_id = Id()


class MeetingIn(Schema):
    kind = fields.String(
        load_default=MeetingKind.CONSULTATION.value, validate=validate.OneOf(_values(MeetingKind))
    )
    held_at = When(required=True)
    place = Text(max=200, allow_none=True)
    agenda = Text(max=20000, allow_none=True)
    minutes = Text(max=20000, allow_none=True)
    decisions = Text(max=20000, allow_none=True)
    women_present = Count(load_default=0)
    men_present = Count(load_default=0)
    other_present = Count(load_default=0)
    present = fields.List(Id(), load_default=list, metadata={"description": "membership ids"})


class MeetingSchema(Schema):
    id = fields.Integer(required=True)
    co_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    held_at = fields.String(required=True)
    place = fields.String(allow_none=True)
    agenda = fields.String(allow_none=True)
    minutes = fields.String(allow_none=True)
    decisions = fields.String(allow_none=True)
    women_present = fields.Integer(required=True)
    men_present = fields.Integer(required=True)
    other_present = fields.Integer(required=True)
    members_present = fields.List(fields.Integer(), required=True)
    created_at = fields.String(required=True)


class MeetingArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(_values(MeetingKind)))


class ProblemIn(Schema):
    title = Text(required=True, min=1, max=200)
    category = fields.String(required=True, validate=validate.OneOf(_values(ProblemCategory)))
    description = Text(max=20000, allow_none=True)
    location = Text(max=200, allow_none=True)
    latitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(-90, 90))
    longitude = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(-180, 180))
    households_affected = Count(allow_none=True)
    meeting_id = Id(allow_none=True)


class ProblemSchema(Schema):
    id = fields.Integer(required=True)
    co_id = fields.Integer(required=True)
    meeting_id = fields.Integer(allow_none=True)
    title = fields.String(required=True)
    category = fields.String(required=True)
    description = fields.String(allow_none=True)
    location = fields.String(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    households_affected = fields.Integer(allow_none=True)
    status = fields.String(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(allow_none=True)


class ProblemArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(_values(ProblemStatus)))
    category = fields.String(validate=validate.OneOf(_values(ProblemCategory)))


# --- proposals ------------------------------------------------------------------------------


class ProposalIn(Schema):
    title = Text(required=True, min=1, max=200)
    description = Text(max=20000, allow_none=True)
    infrastructure_type = fields.String(
        required=True, validate=validate.OneOf(_values(InfrastructureType))
    )
    location = Text(max=200, allow_none=True)
    estimated_cost = Amount(required=True)
    community_cash = Amount(load_default=Decimal(0))
    community_labour = Amount(load_default=Decimal(0))
    amount_requested = Amount(required=True)
    households_benefiting = Count(allow_none=True)
    timeline = Text(max=200, allow_none=True)
    problem_ids = fields.List(Id(), load_default=list)


def _all_optional(schema_cls, name: str) -> type[Schema]:
    """``schema_cls`` with every field optional and no defaults (for PATCH)."""
    optional = {}
    for field_name, field in schema_cls._declared_fields.items():
        field = copy.deepcopy(field)
        field.required = False
        field.load_default = missing
        optional[field_name] = field
    return Schema.from_dict(optional, name=name)


#: any of a draft's terms; those left out keep their value
ProposalPatch = _all_optional(ProposalIn, "ProposalPatch")


class VersionRef(Schema):
    id = fields.Integer(required=True)
    number = fields.Integer(required=True)


class VoteRoundSchema(Schema):
    id = fields.Integer(required=True)
    subject = fields.String(required=True)
    counter_offer_id = fields.Integer(allow_none=True)
    opened_at = fields.String(required=True)
    closes_at = fields.String(required=True)
    closed_at = fields.String(allow_none=True)
    result = fields.String(allow_none=True)
    members_at_close = fields.Integer(allow_none=True)
    #: totals are shown once the vote is closed, or to whom may see running totals
    yes = fields.Integer(allow_none=True)
    no = fields.Integer(allow_none=True)
    abstain = fields.Integer(allow_none=True)


class ProposalSchema(Schema):
    id = fields.Integer(required=True)
    co_id = fields.Integer(required=True)
    municipality_id = fields.Integer(required=True)
    state = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(allow_none=True)
    infrastructure_type = fields.String(required=True)
    location = fields.String(allow_none=True)
    currency = fields.String(required=True)
    estimated_cost = fields.Nested(Money, required=True)
    community_cash = fields.Nested(Money, required=True)
    community_labour = fields.Nested(Money, required=True)
    amount_requested = fields.Nested(Money, required=True)
    households_benefiting = fields.Integer(allow_none=True)
    timeline = fields.String(allow_none=True)
    problem_ids = fields.List(fields.Integer(), required=True)
    latest_version = fields.Nested(VersionRef, allow_none=True)
    vote = fields.Nested(VoteRoundSchema, allow_none=True)
    allowed_actions = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "workflow actions the caller may take now"},
    )
    progress_percent = fields.Integer(required=True)
    created_at = fields.String(required=True)
    updated_at = fields.String(allow_none=True)
    submitted_at = fields.String(allow_none=True)
    agreed_at = fields.String(allow_none=True)


class ProposalArgs(PageArgs):
    state = fields.String(validate=validate.OneOf(_values(ProposalState)))
    infrastructure_type = fields.String(validate=validate.OneOf(_values(InfrastructureType)))


ACTIONS = [t.action for t in workflow.TRANSITIONS]
OFFER_ANSWERS = ["accept", "reject", "put_to_vote", "close_vote"]


class TransitionIn(Schema):
    """An action of the workflow table, with what that action needs."""

    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))
    closes_at = When(metadata={"description": "open_vote; answer_counter_offer put_to_vote"})
    reason = Text(max=5000, metadata={"description": "withdraw, decline, reject"})
    note = Text(max=5000, metadata={"description": "acknowledge, accept"})
    body = Text(max=20000, metadata={"description": "question, counter_offer"})
    version_id = Id(metadata={"description": "accept: the version the officer read"})
    offer_id = Id(metadata={"description": "answer_counter_offer"})
    answer = fields.String(validate=validate.OneOf(OFFER_ANSWERS))
    municipal_share = Amount(allow_none=True)
    community_cash = Amount(allow_none=True)
    community_labour = Amount(allow_none=True)
    scope = Text(max=5000, allow_none=True)
    timeline = Text(max=200, allow_none=True)
    started_on = fields.Date()
    completed_on = fields.Date()
    actual_cost = Amount()
    households_benefited = Count()


class VoteIn(Schema):
    choice = fields.String(required=True, validate=validate.OneOf(_values(VoteChoice)))
    offer_id = Id(metadata={"description": "vote on this counter-offer instead of the proposal"})


class VoteOut(Schema):
    outcome = fields.String(
        required=True, validate=validate.OneOf(["cast", "changed", "unchanged"])
    )
    choice = fields.String(required=True)
    round_id = fields.Integer(allow_none=True)


class OfferSchema(Schema):
    status = fields.String(allow_none=True)
    municipal_share = fields.Nested(Money, allow_none=True)
    community_cash = fields.Nested(Money, allow_none=True)
    community_labour = fields.Nested(Money, allow_none=True)
    scope = fields.String(allow_none=True)
    timeline = fields.String(allow_none=True)
    resulting_version_id = fields.Integer(allow_none=True)


class MessageSchema(Schema):
    id = fields.Integer(required=True)
    proposal_id = fields.Integer(required=True)
    kind = fields.String(required=True)
    side = fields.String(required=True)
    author = fields.Nested(PersonSchema, allow_none=True)
    body = fields.String(allow_none=True)
    version = fields.Nested(VersionRef, allow_none=True)
    decision = fields.String(allow_none=True)
    offer = fields.Nested(OfferSchema, allow_none=True)
    created_at = fields.String(required=True)


class MessageIn(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(_values(MessageKind)),
        metadata={"example": "comment"},
    )
    body = Text(max=20000, allow_none=True)
    decision = fields.String(validate=validate.OneOf(_values(Decision)))
    version_id = Id(metadata={"description": "decision accept: the version the officer read"})
    municipal_share = Amount(allow_none=True)
    community_cash = Amount(allow_none=True)
    community_labour = Amount(allow_none=True)
    scope = Text(max=5000, allow_none=True)
    timeline = Text(max=200, allow_none=True)

    @validates_schema
    def _decision_named(self, data, **kwargs):
        if data.get("kind") == MessageKind.DECISION.value and not data.get("decision"):
            raise ValidationError("Say accept or decline.", "decision")


# --- priorities, implementation, stats ------------------------------------------------------


class PriorityRoundSchema(Schema):
    id = fields.Integer(required=True)
    co_id = fields.Integer(required=True)
    title = fields.String(required=True)
    points_per_member = fields.Integer(required=True)
    max_per_problem = fields.Integer(required=True)
    closes_at = fields.String(allow_none=True)
    closed_at = fields.String(allow_none=True)
    problem_ids = fields.List(fields.Integer(), required=True)
    my_ballot = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        allow_none=True,
        metadata={"description": "the caller's points by problem id, when a member"},
    )


class PriorityRoundIn(Schema):
    title = Text(required=True, min=1, max=200)
    points_per_member = fields.Integer(validate=validate.Range(min=1, max=100))
    max_per_problem = fields.Integer(validate=validate.Range(min=1, max=100))
    closes_at = When(allow_none=True)


class BallotEntry(Schema):
    problem_id = Id(required=True)
    points = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100))


class BallotIn(Schema):
    points = fields.List(
        fields.Nested(BallotEntry), required=True, validate=validate.Length(max=500)
    )


class BallotOut(Schema):
    round_id = fields.Integer(required=True)
    points = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class UpdateIn(Schema):
    progress = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100))
    note = Text(max=5000, allow_none=True)
    spent = Amount(allow_none=True)


class UpdateSchema(Schema):
    id = fields.Integer(required=True)
    proposal_id = fields.Integer(required=True)
    author = fields.Nested(PersonSchema, allow_none=True)
    progress_percent = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    spent = fields.Nested(Money, allow_none=True)
    created_at = fields.String(required=True)


class StatsArgs(Schema):
    period = fields.String(
        load_default="this_year", validate=validate.OneOf(["this_year", "last_12_months", "custom"])
    )
    start = fields.Date()
    end = fields.Date()
    municipality_id = Id()
    country = fields.String(validate=validate.Regexp(r"^[A-Z]{2}$"))
    co_id = Id()

    @validates_schema
    def _one_place_and_dates(self, data, **kwargs):
        places = [k for k in ("municipality_id", "country", "co_id") if data.get(k) is not None]
        if len(places) > 1:
            raise ValidationError("Give at most one of municipality_id, country, co_id.", places[1])
        if data.get("period") == "custom":
            for name in ("start", "end"):
                if data.get(name) is None:
                    raise ValidationError("Needed with period=custom.", name)
            if data["end"] < data["start"]:
                raise ValidationError("The last day must not be before the first.", "end")
            if (data["end"] - data["start"]).days > 366 * 50:
                raise ValidationError("At most 50 years.", "end")


class StatsSchema(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    municipality_id = fields.Integer(allow_none=True)
    country = fields.String(allow_none=True)
    co_id = fields.Integer(allow_none=True)
    cos_formed = fields.Integer(required=True)
    meetings = fields.Dict(required=True)
    votes_by_gender = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    problems = fields.List(fields.Dict(), required=True)
    proposals_by_state = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    response = fields.List(fields.Dict(), required=True)
    funding = fields.List(fields.Dict(), required=True)
    infrastructure = fields.List(fields.Dict(), required=True)
    settlements_improved = fields.List(fields.Dict(), required=True)
    families_benefited = fields.Integer(required=True)


class Open311KeyIn(Schema):
    name = Text(max=80, allow_none=True)


class Open311KeySchema(Schema):
    id = fields.Integer(required=True)
    co_id = fields.Integer(required=True)
    prefix = fields.String(required=True)
    name = fields.String(allow_none=True)
    created_at = fields.String(required=True)
    revoked_at = fields.String(allow_none=True)
    api_key = fields.String(metadata={"description": "only when it is issued"})
