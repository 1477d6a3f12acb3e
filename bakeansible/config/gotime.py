"""Go's reference-time layouts (``2006-01-02T15:04:05Z07:00``), as Packer's ``isotime`` uses.

The tokenizer follows Go's ``time.nextStdChunk`` so that a layout means here what it means in
Packer: ``Jan``/``January``, ``Mon``/``Monday``, ``01``/``1``, ``02``/``2``/``_2``, ``002``/``__2``
(day of year), ``15``/``03``/``3``, ``04``/``4``, ``05``/``5``, ``2006``/``06``, ``PM``/``pm``,
``MST``, ``-0700``/``-07:00``/``-07``/``-070000``/``-07:00:00``, the ``Z`` forms (``Z`` for UTC),
and fractional seconds ``.000``/``.999`` (also with a comma).
"""

from __future__ import annotations

from datetime import datetime, timedelta

RFC3339 = "2006-01-02T15:04:05Z07:00"

_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _chunk(layout: str, i: int) -> tuple[str, int] | None:
    """The standard token starting at ``layout[i]`` and its length, or None for a literal."""
    rest = layout[i:]
    c = rest[0]
    if c == "J" and rest.startswith("Jan"):
        if rest.startswith("January"):
            return "January", 7
        if not rest[3:4].islower():
            return "Jan", 3
    elif c == "M":
        if rest.startswith("Mon"):
            if rest.startswith("Monday"):
                return "Monday", 6
            if not rest[3:4].islower():
                return "Mon", 3
        if rest.startswith("MST"):
            return "MST", 3
    elif c == "0":
        if len(rest) >= 2 and "1" <= rest[1] <= "6":
            return rest[:2], 2
        if rest.startswith("002"):
            return "002", 3
    elif c == "1":
        return ("15", 2) if rest.startswith("15") else ("1", 1)
    elif c == "2":
        return ("2006", 4) if rest.startswith("2006") else ("2", 1)
    elif c == "_":
        if rest.startswith("_2"):
            if rest.startswith("_2006"):
                return None  # a literal "_" followed by 2006
            return "_2", 2
        if rest.startswith("__2"):
            return "__2", 3
    elif c in "345":
        return c, 1
    elif c == "P" and rest.startswith("PM"):
        return "PM", 2
    elif c == "p" and rest.startswith("pm"):
        return "pm", 2
    elif c in "-Z":
        for form in ("070000", "07:00:00", "0700", "07:00", "07"):
            if rest[1:].startswith(form):
                return c + form, 1 + len(form)
    elif c in ".," and len(rest) > 1 and rest[1] in "09":
        j = 1
        while j < len(rest) and rest[j] == rest[1]:
            j += 1
        if not (j < len(rest) and rest[j].isdigit()):
            return rest[:j], j
    return None


def _offset(dt: datetime, form: str) -> str:
    delta = dt.utcoffset() or timedelta(0)
    if form.startswith("Z") and delta == timedelta(0):
        return "Z"
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    hh, mm, ss = seconds // 3600, seconds // 60 % 60, seconds % 60
    body = form[1:]
    if body == "07":
        return f"{sign}{hh:02d}"
    if body == "0700":
        return f"{sign}{hh:02d}{mm:02d}"
    if body == "07:00":
        return f"{sign}{hh:02d}:{mm:02d}"
    if body == "070000":
        return f"{sign}{hh:02d}{mm:02d}{ss:02d}"
    return f"{sign}{hh:02d}:{mm:02d}:{ss:02d}"


def _render(dt: datetime, token: str) -> str:
    hour12 = dt.hour % 12 or 12
    simple = {
        "January": _MONTHS[dt.month - 1],
        "Jan": _MONTHS[dt.month - 1][:3],
        "Monday": _DAYS[dt.weekday()],
        "Mon": _DAYS[dt.weekday()][:3],
        "MST": dt.tzname() or "UTC",
        "01": f"{dt.month:02d}",
        "1": str(dt.month),
        "02": f"{dt.day:02d}",
        "2": str(dt.day),
        "_2": f"{dt.day:>2d}",
        "002": f"{dt.timetuple().tm_yday:03d}",
        "__2": f"{dt.timetuple().tm_yday:>3d}",
        "15": f"{dt.hour:02d}",
        "03": f"{hour12:02d}",
        "3": str(hour12),
        "04": f"{dt.minute:02d}",
        "4": str(dt.minute),
        "05": f"{dt.second:02d}",
        "5": str(dt.second),
        "2006": f"{dt.year:04d}",
        "06": f"{dt.year % 100:02d}",
        "PM": "PM" if dt.hour >= 12 else "AM",
        "pm": "pm" if dt.hour >= 12 else "am",
    }
    if token in simple:
        return simple[token]
    if token[0] in "-Z":
        return _offset(dt, token)
    # Fractional seconds: ".000" keeps the width, ".999" trims trailing zeros (and the dot).
    digits = f"{dt.microsecond:06d}000"[: len(token) - 1]
    if token[1] == "9":
        digits = digits.rstrip("0")
        return token[0] + digits if digits else ""
    return token[0] + digits


def go_format(dt: datetime, layout: str) -> str:
    """Format ``dt`` like Go's ``dt.Format(layout)``."""
    out: list[str] = []
    i = 0
    while i < len(layout):
        found = _chunk(layout, i)
        if found is None:
            out.append(layout[i])
            i += 1
            continue
        token, length = found
        out.append(_render(dt, token))
        i += length
    return "".join(out)
