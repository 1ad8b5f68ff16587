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


def max_rounds(start: date, months: int) -> int:
    """The most rounds of ``months`` months from ``start`` the calendar holds (its dates end
    with the year 9999)."""
    return ((date.max.year - start.year) * 12 + 12 - start.month) // months


def round_dates(start: date, end: date, months: int, rounds: int | None = None) -> list[date]:
    """Dates of round boundaries: ``start`` then the end of each round up to ``end`` (or, given
    ``rounds``, that many rounds).

    Raises:
        ValueError: ``rounds`` beyond :func:`max_rounds`.
    """
    most = max_rounds(start, months)
    if rounds is not None and rounds > most:
        raise ValueError(f"{rounds} rounds of {months} months from {start} end after year 9999")
    # a round ending the day after ``end`` still fits
    last = end + timedelta(days=1) if end < date.max else end
    dates = [start]
    while len(dates) <= most and (
        (rounds is None and add_months(start, months * len(dates)) <= last)
        or (rounds is not None and len(dates) <= rounds)
    ):
        dates.append(add_months(start, months * len(dates)))
    return dates


def years_between(a: date, b: date) -> float:
    """Years from ``a`` to ``b`` (days / 365.25)."""
    return (b - a).days / 365.25
