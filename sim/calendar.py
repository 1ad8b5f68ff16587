"""The simulated calendar: round boundaries and whole-month arithmetic."""

from __future__ import annotations

from datetime import date, timedelta


def add_months(d: date, months: int) -> date:
    """``d`` moved by whole months (day clipped to the month's length)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in range(d.day, 27, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, min(d.day, 28))


def round_dates(start: date, end: date, months: int, rounds: int | None = None) -> list[date]:
    """Dates of round boundaries: ``start`` then the end of each round up to ``end``."""
    last = end + timedelta(days=1)  # a round ending the day after ``end`` still fits
    dates = [start]
    while (rounds is None and add_months(start, months * len(dates)) <= last) or (
        rounds is not None and len(dates) <= rounds
    ):
        dates.append(add_months(start, months * len(dates)))
    return dates


def years_between(a: date, b: date) -> float:
    """Years from ``a`` to ``b`` (days / 365.25)."""
    return (b - a).days / 365.25
