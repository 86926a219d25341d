"""The dashboard's summary rows: what happened on each day in each CO, already counted.

The dashboard and the scope summaries read these rows instead of the programme's tables, so
their cost follows the number of COs and days in the period, not the number of meetings,
problems, proposals and votes behind them. ``consult.monitoring.aggregates`` keeps them.
"""

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from consult.core.db import Money, UTCDateTime
from consult.extensions import db


class DailyFigure(db.Model):
    """One count on one day of one CO: ``measure`` (e.g. ``meetings``, ``problems``) broken
    down by ``key`` (e.g. ``drainage:open``; empty when there is no breakdown).

    ``day`` is a date of the CO's municipality (its time zone). ``count`` is how many (events,
    people, families: see ``aggregates.MEASURES``); ``amount`` is money, for ``funding`` and
    ``community`` (in the currency named by ``key``).
    """

    __tablename__ = "monitoring_days"
    __table_args__ = (
        Index("ix_monitoring_days_day", "day", "measure"),
        Index("ix_monitoring_days_municipality", "municipality_id", "day", "measure"),
    )

    co_id: Mapped[int] = mapped_column(
        ForeignKey("community_organisations.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(40), primary_key=True, default="")
    #: the CO's municipality (copied, so a scope needs no join)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipalities.id"))
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[object] = mapped_column(Money, default=0)


class MonitoringMark(db.Model):
    """How far a scheduled count has gone: ``votes`` holds the last ballot id counted and
    when (``consult refresh-monitoring``)."""

    __tablename__ = "monitoring_marks"

    name: Mapped[str] = mapped_column(String(16), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime)
