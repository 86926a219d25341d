"""Showing money, dates and counts the way the reader expects, in their language."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import format_currency, format_date, format_datetime, format_decimal


def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return "—"
    # Riel and similar currencies are not written with cents.
    digits = 0 if currency in {"KHR", "VND", "IDR", "LAK", "MMK", "UGX", "KES"} else None
    if digits == 0:
        return format_currency(amount, currency, format="¤#,##0", currency_digits=False)
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


def percent(part: int, whole: int) -> str:
    if not whole:
        return "—"
    return f"{round(100 * part / whole)}%"
