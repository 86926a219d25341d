import hmac
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from consult.core.db import TimestampMixin, UTCDateTime, enum_column
from consult.core.enums import Gender, UserRole
from consult.extensions import db


def tokens_match(stored: str | None, presented: str) -> bool:
    """Whether a session's ``presented`` token is the account's current ``stored`` one (in
    constant time; an account without one holds no session)."""
    return bool(stored) and hmac.compare_digest(stored, presented)


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_login"),
        CheckConstraint(
            "role <> 'officer' OR municipality_id IS NOT NULL", name="officer_has_municipality"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    #: lower-cased; many residents have none
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    #: normalised by ``auth.service.normalise_phone``: digits with an optional leading +
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    #: None until the person sets a password through an invitation
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(
        enum_column(UserRole, "user_role"), default=UserRole.RESIDENT
    )
    gender: Mapped[Gender] = mapped_column(enum_column(Gender, "gender"), default=Gender.OTHER)
    language: Mapped[str | None] = mapped_column(String(8))
    #: the municipality an officer works for
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipalities.id"))
    active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: part of every session and remember cookie of this account; a new one (at logout, a new
    #: password, disabling, a role change) ends them all
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))

    municipality: Mapped["Municipality | None"] = relationship()  # noqa: F821
    memberships: Mapped[list["Membership"]] = relationship(  # noqa: F821
        back_populates="user", foreign_keys="Membership.user_id"
    )

    def __repr__(self) -> str:
        return f"<User {self.id} {self.name!r}>"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id and the current session token."""
        return f"{self.id}:{self.session_token}"

    def holds_session(self, token: str) -> bool:
        return tokens_match(self.session_token, token)

    def new_session_token(self) -> None:
        self.session_token = secrets.token_hex(16)

    @property
    def login(self) -> str:
        return self.email or self.phone or ""

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)  # werkzeug's default: scrypt

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_staff(self) -> bool:
        return self.role in (UserRole.STAFF, UserRole.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN

    @property
    def is_officer(self) -> bool:
        return self.role == UserRole.OFFICER

    def current_memberships(self) -> list["Membership"]:  # noqa: F821
        return [m for m in self.memberships if m.left_on is None]

    def home_timezone(self) -> str | None:
        """The zone of the municipality this person works for (officers) or lives in (their
        first current CO's); None for staff with neither."""
        if self.municipality is not None:
            return self.municipality.timezone
        for m in self.current_memberships():
            return m.organisation.municipality.timezone
        return None

    def membership_in(self, co_id: int) -> "Membership | None":  # noqa: F821
        for m in self.memberships:
            if m.co_id == co_id and m.left_on is None:
                return m
        return None


class Invitation(TimestampMixin, db.Model):
    """A one-time link that lets an invited person set their password."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token; the token itself is only ever in the link
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])
