"""Cron schedules as Kubernetes CronJobs read them (the MySQL Operator's backupSchedules become CronJobs).

Kubernetes parses ``spec.schedule`` with robfig/cron v3's standard parser: five fields
(minute 0-59, hour 0-23, day of month 1-31, month 1-12 or jan-dec, day of week 0-7 or
sun-sat, 0 and 7 both Sunday), each ``*``, ``?`` (day fields), a value, a range ``a-b``,
a step ``*/n`` or ``a-b/n`` or ``a/n``, or a comma list of those; or one of the macros
``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``, ``@midnight``,
``@hourly``. ``TZ=``/``CRON_TZ=`` prefixes are refused by the API server (use the
separate time zone field).

Beyond syntax, :func:`check_schedule` refuses a schedule that never fires: a day of
month no selected month has (``0 0 30 2 *``, ``0 0 31 4,6 *``) while the day of week is
unrestricted. (When both day fields are restricted cron fires on either, so that cannot
be empty.)
"""

from __future__ import annotations

MACROS = {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

_FIELDS = (("minute", 0, 59, {}), ("hour", 0, 23, {}), ("day of month", 1, 31, {}),
           ("month", 1, 12, {m: i for i, m in enumerate(
               ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}),
           ("day of week", 0, 7, {d: i for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}))

DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
"""Most days each month can have (February 29 in leap years)."""


def _value(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise ValueError(f"{name} field: {text!r} is not a number" + (f" or a name ({', '.join(names)})" if names else ""))
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{name} field: {value} is outside {low}-{high}")
    return value


def _field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> tuple[set[int], bool]:
    """The values one field selects, and whether it is unrestricted (``*``/``?``, star in cron's sense)."""
    values: set[int] = set()
    star = False
    for part in text.split(","):
        if not part:
            raise ValueError(f"{name} field: empty list item in {text!r}")
        base, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"{name} field: step {step_text!r} must be a number >= 1")
            step = int(step_text)
        if base in ("*", "?"):
            if base == "?" and name not in ("day of month", "day of week"):
                raise ValueError(f"{name} field: '?' is only allowed in the day fields")
            start, end = low, high
            star = star or step == 1
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _value(a, name, low, high, names), _value(b, name, low, high, names)
            if start > end:
                raise ValueError(f"{name} field: range {base!r} runs backwards")
        else:
            start = _value(base, name, low, high, names)
            end = high if slash else start
        values.update(range(start, end + 1, step))
    return values, star


def check_schedule(schedule: str) -> str:
    """Return ``schedule`` unchanged if Kubernetes accepts it and it fires; else raise ValueError saying why."""
    text = schedule.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        raise ValueError("a time zone inside the schedule is refused by Kubernetes; set time_zone instead")
    if text.startswith("@"):
        if text not in MACROS:
            raise ValueError(f"unknown macro {text!r}; use one of {', '.join(sorted(MACROS))}")
        return schedule
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"a schedule has 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}")
    fields = [_field(part, *spec) for part, spec in zip(parts, _FIELDS)]
    (doms, _), (months, _), (_, dow_star) = fields[2], fields[3], fields[4]
    if dow_star and not any(day <= DAYS_IN_MONTH[month - 1] for day in doms for month in months):
        raise ValueError(f"{schedule!r} never fires: no selected month has day {', '.join(map(str, sorted(doms)))}")
    return schedule
