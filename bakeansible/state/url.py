"""Where the state database is: ``--database-url``, else ``BAKE_DATABASE_URL``, else SQLite.

Accepted: ``postgresql://user:password@host:port/dbname?options`` (or ``postgres://``), and
``sqlite:///absolute/path.sqlite``. The default is ``<state dir>/journal.sqlite``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bakeansible.errors import BakeError
from bakeansible.paths import state_dir

ENV = "BAKE_DATABASE_URL"
POSTGRES_SCHEMES = ("postgresql", "postgres")


def default_sqlite_path() -> Path:
    """The embedded database: the journal file bake has always used."""
    return state_dir() / "journal.sqlite"


def database_exists() -> bool:
    """Whether there is a state database to open without creating one: a configured URL (a
    server's database is the team's, made by its first bake) or the default SQLite file."""
    return bool(os.environ.get(ENV, "").strip()) or default_sqlite_path().exists()


def resolve_url(url: str | None = None) -> str:
    """``url``, else ``$BAKE_DATABASE_URL``, else the embedded SQLite default."""
    chosen = url or os.environ.get(ENV) or ""
    return chosen.strip() or f"sqlite://{default_sqlite_path()}"


def scheme_of(url: str) -> str:
    """``sqlite`` or ``postgresql``; raise BakeError for anything else."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in POSTGRES_SCHEMES:
        return "postgresql"
    if scheme == "sqlite":
        return "sqlite"
    raise BakeError(
        f"The database URL {safe_url(url)!r} is neither postgresql:// nor sqlite:///.",
        hint=f"Set {ENV} (or --database-url) to postgresql://USER:PASSWORD@HOST:PORT/DB, "
        "or unset it to use the embedded SQLite journal in the state directory.",
    )


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite:///path`` URL."""
    path = url.split("://", 1)[1] if "://" in url else url.split(":", 1)[1]
    return Path(path).expanduser()


def safe_url(url: str) -> str:
    """``url`` without its password (in the user part or a ``password=`` parameter), for
    messages and logs."""
    if password_of(url) is None:
        return url
    parts = urlsplit(url)
    if parts.password is not None:
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    if parts.query:
        query = [(k, "***" if k == "password" else v)
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        parts = parts._replace(query=urlencode(query, safe="/:%*"))
    return urlunsplit(parts)


def password_of(url: str) -> str | None:
    """The password in ``url``, if any (to register with the masker)."""
    try:
        parts = urlsplit(url)
        if parts.password is not None:
            return parts.password
    except ValueError:  # a URL urlsplit cannot read: libpq will say what is wrong with it
        return None
    return dict(parse_qsl(parts.query)).get("password")
