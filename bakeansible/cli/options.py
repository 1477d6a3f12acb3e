"""Click options shared by ``build``, ``validate`` and ``inspect``, and ``run_cli``, which turns
``BakeError`` into ``Error: ...`` on stderr and exit code 1.

Every option accepts Packer's single-dash spelling (``-var``) and the double-dash one (``--var``).
"""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from bakeansible.errors import BakeError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_TEMPLATE = Path("bake.yml")


def template_argument(fn: F) -> F:
    """``[TEMPLATE]``, default ``./bake.yml``."""
    return click.argument(
        "template",
        required=False,
        default=DEFAULT_TEMPLATE,
        type=click.Path(path_type=Path, dir_okay=True, exists=False),
    )(fn)


def variable_options(fn: F) -> F:
    """``-var NAME=VALUE`` and ``-var-file FILE`` (both repeatable; later ones win)."""
    fn = click.option(
        "-var-file",
        "--var-file",
        "var_files",
        multiple=True,
        type=click.Path(path_type=Path),
        metavar="FILE",
        help="JSON or YAML file of variable values (repeatable, later wins).",
    )(fn)
    return click.option(
        "-var",
        "--var",
        "var_args",
        multiple=True,
        metavar="NAME=VALUE",
        help="Set a template variable (repeatable, wins over files and BAKE_VAR_name).",
    )(fn)


def selection_options(fn: F) -> F:
    """``-only`` and ``-except``: comma-separated build names or glob patterns."""
    fn = click.option(
        "-except",
        "--except",
        "except_",
        multiple=True,
        metavar="NAMES",
        help="Skip these builds (comma-separated names or globs).",
    )(fn)
    return click.option(
        "-only",
        "--only",
        "only",
        multiple=True,
        metavar="NAMES",
        help="Run only these builds (comma-separated names or globs).",
    )(fn)


def debug_enabled() -> bool:
    """Tracebacks are shown with ``BAKE_DEBUG=1`` or the main group's ``--debug``."""
    if os.environ.get("BAKE_DEBUG", "").lower() in ("1", "true", "yes"):
        return True
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.params.get("debug") is True:
            return True
        if isinstance(ctx.obj, dict) and ctx.obj.get("debug"):
            return True
        ctx = ctx.parent
    return False


def report_error(exc: BakeError) -> None:
    """Print ``Error: message`` and the hint to stderr (with the traceback when debugging),
    with every secret the process knows masked."""
    from bakeansible.secrets import process_masker

    mask = process_masker().mask
    if debug_enabled():
        text = "".join(traceback.format_exception(exc))
        click.echo(mask(text), err=True, nl=False)
    click.echo(mask(f"Error: {exc.message}"), err=True)
    if exc.hint:
        click.echo(mask(f"Hint: {exc.hint}"), err=True)


def run_cli(fn: F) -> F:
    """Decorate a command callback: ``BakeError`` → message on stderr, exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except BakeError as exc:
            report_error(exc)
            raise SystemExit(1) from None

    return wrapper  # type: ignore[return-value]


def _set_database_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        from bakeansible.state import ENV

        os.environ[ENV] = value  # read by open_database(), here and in bake's children


def database_option(fn: F) -> F:
    """``--database-url``: the state database (journal, image registry) for this command."""
    return click.option(
        "--database-url", "-database-url", metavar="URL", expose_value=False,
        callback=_set_database_url,
        help="postgresql://USER:PASSWORD@HOST/DB to share builds, locks and images with other "
        "hosts (default: $BAKE_DATABASE_URL, else the SQLite journal in the state dir).",
    )(fn)


def run_options(fn: F) -> F:
    """How a run behaves, shared by ``bake build`` and ``bake --playbook``."""
    decorators = [
        click.option("-force", "--force", is_flag=True,
                     help="Rebuild even when up to date, replacing an existing image of "
                     "the same name."),
        click.option("-on-error", "--on-error", type=click.Choice(["cleanup", "abort", "ask"]),
                     default="cleanup", show_default=True,
                     help="cleanup: remove everything; abort: keep it for debugging; ask: prompt."),
        click.option("-color", "--color", type=click.BOOL, default=True,
                     help="-color=false: no colours."),
        click.option("-timestamp-ui", "--timestamp-ui", is_flag=True,
                     help="Prefix lines with the time."),
        click.option("-machine-readable", "--machine-readable", is_flag=True,
                     help="Packer's machine-readable output (timestamp,target,type,data...)."),
        click.option("--no-auto-cleanup", is_flag=True,
                     help="Don't remove resources of earlier builds that died."),
        database_option,
        click.option("-check", "--check", is_flag=True,
                     help="Run the playbooks in check mode with diff on a fresh instance; "
                     "make no image."),
        click.option("-no-test", "--no-test", is_flag=True,
                     help="Skip the test phase (the tests section; verify.yml with --playbook)."),
    ]  # fmt: skip
    for decorate in reversed(decorators):
        fn = decorate(fn)
    return fn


def cloud_options(fn: F) -> F:
    """``--region``, ``--zone``, ``--instance-type``, ``--private-ip``: where and how a command
    boots a CVM from a Tencent Cloud image (``bake instance up``, ``bake test``); refused with
    a local source."""
    for option in reversed([
        click.option("--region", metavar="REGION",
                     help="img-… only: region; default env TENCENTCLOUD_REGION or the profile."),
        click.option("--zone", metavar="ZONE", help="img-… only: zone, e.g. ap-guangzhou-3."),
        click.option("--instance-type", metavar="TYPE",
                     help="img-… only: instance type, e.g. S5.MEDIUM2."),
        click.option("--private-ip", is_flag=True,
                     help="img-… only: no public address; reach the CVM at its private one."),
    ]):  # fmt: skip
        fn = option(fn)
    return fn
