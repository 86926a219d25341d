"""Showing money, dates and counts the way the reader expects, in their language."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import format_currency, format_date, format_datetime, format_decimal

WHOLE_UNIT_CURRENCIES = {"KHR", "LAK", "VND", "IDR", "MMK", "UGX", "KES"}


def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "—"
    # Riel, kip and similar currencies are written without cents: "15,000,000 KHR".
    if currency in WHOLE_UNIT_CURRENCIES:
        return f"{format_decimal(amount, format='#,##0')}\u00a0{currency}"
    return format_currency(amount, currency)


def local_datetime(value: datetime | None, timezone: str | None = None, fmt: str = "medium"):
    if value is None:
        return "—"
    if timezone:
        value = value.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)
        return format_datetime(value, fmt, rebase=False)
    return format_datetime(value, fmt)


def local_date(value, fmt: str = "medium") -> str:
    return "—" if value is None else format_date(value, fmt)


def number(value) -> str:
    return "—" if value is None else format_decimal(value)


def count(value) -> str:
    """A count for a list's heading: ``1,000+`` when counting stopped at its cap."""
    text = format_decimal(int(value))
    return f"{text}+" if getattr(value, "capped", False) else text


def percent(part: int, whole: int) -> str:
    if not whole:
        return "—"
    return f"{round(100 * part / whole)}%"
