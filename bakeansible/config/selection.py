"""Choosing builds by name: ``-only``/``-except`` and provisioners' ``only``/``except``.

Each is a list of names or glob patterns; on the command line also comma-separated.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from bakeansible.errors import ConfigIssue


def split_patterns(values: Sequence[str]) -> tuple[str, ...]:
    """``-only a,b -only c`` → ``("a", "b", "c")``."""
    return tuple(p.strip() for v in values for p in v.split(",") if p.strip())


def matches(name: str, only: Sequence[str], except_: Sequence[str]) -> bool:
    """Whether build ``name`` passes ``only`` (empty: everything) and ``except``."""
    if only and not any(fnmatchcase(name, p) for p in only):
        return False
    return not any(fnmatchcase(name, p) for p in except_)


def select_names(
    names: Sequence[str], only: Sequence[str], except_: Sequence[str]
) -> tuple[list[str], ConfigIssue | None]:
    """The names ``-only``/``-except`` keep, and an issue when they keep none."""
    only_p = split_patterns(only)
    except_p = split_patterns(except_)
    chosen = [n for n in names if matches(n, only_p, except_p)]
    if not names or chosen:
        return chosen, None
    flags = []
    if only_p:
        flags.append(f"-only={','.join(only_p)}")
    if except_p:
        flags.append(f"-except={','.join(except_p)}")
    message = f"No builds to run: {' '.join(flags)} left none of: {', '.join(names)}"
    return chosen, ConfigIssue("<command line>", "", message)
