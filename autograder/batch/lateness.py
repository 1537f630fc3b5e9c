"""Late submissions: how late each one is, and the total after a late policy given on the command line.

Times come from Gradescope's metadata (each submission's ``created_at``; a ``due_date`` or
``late_due_date`` in a submission's metadata, e.g. an extension, overrides the command line's).
The policy:

* ``--late-penalty 10%/day`` (or ``2%/hour``; default none): every started day (hour) after the due
  date costs that percentage of the assignment's maximum points (as Canvas's late policy does);
* ``--late-cap 50%``: the penalty never exceeds this percentage;
* ``--grace-minutes 15``: a submission at most this late counts as on time (a later one is late
  from the due date itself);
* a submission after the late due date gets no credit (total 0; its raw score is kept).

So, for raw score R of M points, ``t`` seconds late, unit ``u`` (86400 or 3600 s) and rate ``p`` %:
``units = ceil(t / u)`` when ``t > grace`` else 0, ``penalty = M * min(p * units, cap) / 100``,
``total = max(R - penalty, 0)``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Optional

from ..errors import UserError

UNITS = {"day": 86400.0, "hour": 3600.0}

_TIME = re.compile(r"^\s*(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?)?"
                   r"\s*(Z|UTC|[+-]\d\d(?::?\d\d)?)?\s*$", re.IGNORECASE)


def parse_time(text: str, what: str = "time") -> dt.datetime:
    """An aware datetime from ISO 8601 or Gradescope's ``2024-03-01 12:00:00.000000000 -08:00``.

    A time without a UTC offset is refused (a due date read in the wrong zone is hours off).
    Raises UserError.
    """
    match = _TIME.match(str(text))
    if not match:
        raise UserError(f"{what} {text!r}: not a date and time; write e.g. 2026-11-20T23:59-08:00")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone is None:
        raise UserError(f"{what} {text!r}: add the time zone as a UTC offset, e.g. 2026-11-20T23:59-08:00 or ...Z")
    if zone.upper() in ("Z", "UTC"):
        offset = dt.timedelta(0)
    else:
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        offset = -offset if zone[0] == "-" else offset
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return dt.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                           micro, tzinfo=dt.timezone(offset))
    except ValueError as exc:
        raise UserError(f"{what} {text!r}: {exc}") from None


@dataclass(frozen=True)
class LatePolicy:
    """Percent of the maximum points per started ``unit`` late, capped, after a grace period."""

    percent: float = 0.0
    unit: str = "day"
    cap_percent: float = 100.0
    grace_minutes: float = 0.0
    due: Optional[dt.datetime] = None
    late_due: Optional[dt.datetime] = None

    @classmethod
    def parse(cls, penalty: Optional[str] = None, cap: Optional[str] = None, grace_minutes: float = 0.0,
              due: Optional[str] = None, late_due: Optional[str] = None) -> LatePolicy:
        """From the command line: ``penalty`` is ``none``, ``10%/day`` or ``2%/hour``; ``cap`` e.g. ``50%``."""
        percent, unit = 0.0, "day"
        if penalty and penalty.strip().lower() != "none":
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*(?:/|per)\s*(day|hour)s?\s*", penalty, re.IGNORECASE)
            if not match:
                raise UserError(f"--late-penalty {penalty!r}: write none, or a percentage per day or hour: "
                                "10%/day or 2%/hour")
            percent, unit = float(match.group(1)), match.group(2).lower()
        cap_percent = 100.0
        if cap is not None:
            # The same syntax as --late-penalty: a bare 0.5 could mean 0.5% or a fraction 50%, so it is refused.
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", cap)
            if not match or float(match.group(1)) > 100:
                raise UserError(f"--late-cap {cap!r}: write a percentage of the maximum points with its %, "
                                "e.g. 50%")
            cap_percent = float(match.group(1))
        if grace_minutes < 0:
            raise UserError(f"--grace-minutes {grace_minutes:g}: must not be negative")
        given = [name for name, value in (("--late-due", late_due), ("--late-penalty", percent),
                                          ("--late-cap", cap), ("--grace-minutes", grace_minutes)) if value]
        if given and not due:
            # Without a due date nothing is late: these options would silently change no grade.
            raise UserError(f"{', '.join(given)} need(s) --due (the due date, e.g. --due 2026-11-20T23:59-08:00); "
                            "without it no submission is late")
        policy = cls(percent, unit, cap_percent, float(grace_minutes), parse_time(due, "--due") if due else None,
                     parse_time(late_due, "--late-due") if late_due else None)
        if policy.due and policy.late_due and policy.late_due < policy.due:
            raise UserError("--late-due is before --due")
        return policy

    def describe(self) -> str:
        if not self.percent:
            return "no late penalty"
        cap = f", at most {self.cap_percent:g}%" if self.cap_percent < 100 else ""
        grace = f", {self.grace_minutes:g} min grace" if self.grace_minutes else ""
        return f"{self.percent:g}% of the points per started {self.unit} late{cap}{grace}"


@dataclass(frozen=True)
class Late:
    """One submission's lateness and penalty."""

    seconds_late: float  # after the due date (0 when on time)
    units: int  # started days or hours charged (0 within the grace period)
    penalty: float  # points taken off
    total: float  # the total after the penalty
    after_late_due: bool
    policy: LatePolicy

    @property
    def hours_late(self) -> float:
        return self.seconds_late / 3600.0

    def describe(self) -> str:
        if self.seconds_late <= 0:
            return "on time"
        when = f"{self.hours_late:.2f} hours late"
        if self.after_late_due:
            return f"{when}, after the late due date: no credit"
        if not self.units:
            return f"{when}, within the {self.policy.grace_minutes:g}-minute grace period"
        return f"{when}: {self.units} {self.policy.unit}(s) at {self.policy.percent:g}% = -{self.penalty:g} points"


def apply_policy(policy: LatePolicy, raw: float, max_score: float, submitted: Optional[dt.datetime],
                 due: Optional[dt.datetime] = None, late_due: Optional[dt.datetime] = None) -> Optional[Late]:
    """The lateness of a submission made at ``submitted`` with raw score ``raw`` (None when a time is unknown).

    ``due`` / ``late_due`` (from the submission's metadata) override the policy's dates; a late due
    date before the due date (an extension past it) is not applied.
    """
    due = due or policy.due
    late_due = late_due or policy.late_due
    if submitted is None or due is None:
        return None
    if late_due is not None and late_due < due:  # an extension past the late due date: no late due date
        late_due = None
    seconds = max(0.0, (submitted - due).total_seconds())
    if late_due is not None and submitted > late_due:
        return Late(seconds, 0, raw, 0.0, True, policy)
    units = math.ceil(seconds / UNITS[policy.unit]) if seconds > 60.0 * policy.grace_minutes else 0
    penalty = min(max_score * min(policy.percent * units, policy.cap_percent) / 100.0, raw) if units else 0.0
    return Late(seconds, units, penalty, raw - penalty, False, policy)
