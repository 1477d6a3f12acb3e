"""Errors of the state database: what went wrong, with which file or server, and what to do."""

from __future__ import annotations

from pathlib import Path

from bakeansible.errors import BakeError

AT_RISK = (
    "The resources it tracked may still exist: containers (systemd-nspawn), overlay mounts and "
    "work directories under {instances}, network namespaces (bake-*), veth links (bk-*) and "
    "nftables tables (bake_*), host processes of bake (ansible-playbook, ssh, tar), "
    "and cloud instances, VPCs, security groups and key pairs."
)


class DatabaseError(BakeError):
    """The state database (resource journal, image registry) cannot be used. ``damaged`` when
    an embedded SQLite file is unreadable (not when it is only locked or read-only): then
    ``bake cleanup --reset-journal`` may move it aside."""

    def __init__(self, message: str, hint: str, *, damaged: bool) -> None:
        super().__init__(message, hint)
        self.damaged = damaged


def sqlite_error(path: Path, exc: BaseException | str) -> DatabaseError:
    """The error to show for ``exc`` met while using the SQLite file ``path``."""
    text = str(exc)
    where, instances = path, path.parent / "instances"
    at_risk = AT_RISK.format(instances=instances)
    if "locked" in text or "busy" in text:
        return DatabaseError(
            f"The resource journal {where} is locked by another process ({text}).",
            f"Another bake may be holding it: wait for it to finish, or find it with "
            f"`fuser -v {where}`.",
            damaged=False,
        )
    if "readonly" in text or "unable to open" in text or "permission" in text.lower():
        return DatabaseError(
            f"The resource journal {where} cannot be written ({text}).",
            f"Make {where} and its directory writable by this user, or point BAKE_STATE_DIR "
            f"at the state directory you meant. {at_risk}",
            damaged=False,
        )
    return DatabaseError(
        f"The resource journal {where} is damaged or not a bake journal ({text}).",
        f"{at_risk} `bake cleanup --reset-journal` keeps the damaged file aside (renamed "
        f"{path.name}.damaged-<time>) and starts an empty journal; then look for those "
        "resources yourself: `bake cleanup --tags` finds cloud resources by their "
        "bake:expires-at tag; `ps -ef | grep -e systemd-nspawn -e ansible-playbook`, "
        f"`grep bake /proc/mounts`, `ip netns list`, `ip -br link`, `nft list tables` and "
        f"`ls {instances}` show local ones.",
        damaged=True,
    )


def server_error(where: str, exc: BaseException | str, *, reaching: bool = True) -> DatabaseError:
    """The error to show for ``exc`` met while reaching (or querying) the PostgreSQL ``where``."""
    text = " ".join(str(exc).split())
    if not reaching:
        return DatabaseError(
            f"The resource journal {where} refused a query ({text}).",
            "Its tables may have been changed by hand, or by another version of bake: run "
            "the same bake version on every host sharing it.",
            damaged=False,
        )
    return DatabaseError(
        f"The resource journal {where} cannot be used ({text}).",
        "Check that the server is up and reachable from this host, that the user, password "
        "and database in BAKE_DATABASE_URL (or --database-url) are right, and that the user "
        "may create tables in it. Nothing was created.",
        damaged=False,
    )


def newer_schema_error(where: str, found: int, known: int) -> DatabaseError:
    """A database migrated by a newer bake than this one."""
    return DatabaseError(
        f"The resource journal {where} has schema version {found}; this bake knows up to "
        f"{known}.",
        "A newer bake shares this database: upgrade bake here to the same version, or point "
        "BAKE_DATABASE_URL at a database of its own. Nothing was changed.",
        damaged=False,
    )


def schema_error(where: str, detail: str) -> DatabaseError:
    """A server database whose tables are not bake's."""
    return DatabaseError(
        f"The resource journal {where} holds tables that are not bake's ({detail}).",
        "Give bake a database (or a schema: ?options=-csearch_path%3Dbake) of its own. "
        "Nothing was changed.",
        damaged=False,
    )
