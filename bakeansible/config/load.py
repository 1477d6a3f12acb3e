"""Loading a template (native ``bake.yml`` or a Packer JSON template) into a resolved ``Template``.

One pass, no side effects: parse with positions, then hand the document to its format's reader
(``packer_json`` or ``bake_yml``); both share the reading of entries (``entries``) and the
variables and per-build decoding (``assemble``). Every problem is raised together as one
``ConfigError``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from bakeansible.config.assemble import LoadRequest
from bakeansible.config.bake_yml import read_bake_template
from bakeansible.config.decode import describe_value
from bakeansible.config.model import Template
from bakeansible.config.packer_json import read_packer_template
from bakeansible.config.positions import Document, load_document
from bakeansible.errors import ConfigError, ConfigIssue


def detect_format(doc: Document) -> str:
    """``"packer"`` for a Packer JSON template, ``"bake"`` for the native format."""
    data = doc.data if isinstance(doc.data, Mapping) else {}
    if "builds" in data or "post_processors" in data:
        return "bake"
    if any(k in data for k in ("builders", "post-processors", "sensitive-variables")):
        return "packer"
    return "packer" if doc.format == "json" else "bake"


def load_template(
    path: Path,
    *,
    var_args: Sequence[str] = (),
    var_files: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    only: Sequence[str] = (),
    except_: Sequence[str] = (),
    now: datetime | None = None,
    check_environment: bool = False,
) -> Template:
    """Read, validate and resolve the template at ``path``; raise ``ConfigError`` listing every
    problem. ``now`` fixes ``{{timestamp}}``/``{{isotime}}`` (default: the current time).
    ``check_environment`` (``bake validate``) also resolves what each build takes from outside
    the template, credentials and region, as the build's preflight does (no network call)."""
    doc = load_document(Path(path))
    request = LoadRequest(
        var_args=var_args,
        var_files=var_files,
        env=dict(os.environ) if env is None else env,
        only=only,
        except_=except_,
        now=now,
        check_environment=check_environment,
    )
    read = read_packer_template if detect_format(doc) == "packer" else read_bake_template
    return read(doc, request)


def check_syntax(path: Path) -> Document:
    """``validate -syntax-only``: the file parses and has the shape of a template."""
    doc = load_document(Path(path))
    if not isinstance(doc.data, Mapping):
        raise ConfigError(
            [
                ConfigIssue(
                    str(path),
                    "",
                    f"a template must be a mapping at the top, got {describe_value(doc.data)}",
                    1,
                    1,
                )
            ]
        )
    return doc
