"""``bake --playbook site.yml``: a playbook becomes an ansible provisioner.

With a ``bake.yml`` (``base``) the provisioner is appended to every build; without one there is a
single default ``local`` build named ``local``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from bakeansible.config import types as config_types
from bakeansible.config.decode import decode
from bakeansible.config.model import BuildSpec, ProvisionerSpec, Template, TestSpec
from bakeansible.errors import BakeError, ConfigError

DEFAULT_BUILD = "local"
#: The playbook ``bake --playbook`` runs as the image's test when it is next to the playbook.
VERIFY_PLAYBOOK = "verify.yml"


def default_verify(playbook: Path) -> Path | None:
    """``verify.yml`` next to ``playbook``, when it exists and is not the playbook itself."""
    verify = Path(playbook).parent / VERIFY_PLAYBOOK
    if not verify.is_file() or verify.resolve() == Path(playbook).resolve():
        return None
    return verify


def playbook_provisioner(
    playbook: Path, options: Mapping[str, Any] | None = None
) -> ProvisionerSpec:
    """An ansible provisioner running ``playbook`` with ``options`` (AnsibleConfig keys)."""
    cls = config_types.provisioner_config_class("ansible")
    if cls is None:
        raise BakeError("the ansible provisioner is not available")
    data = {**(options or {}), "playbook_file": str(playbook)}
    config, issues = decode(cls, data, file="<command line>", path="--playbook")
    if issues:
        raise ConfigError(issues)
    return ProvisionerSpec(type="ansible", config=config, name=Path(playbook).name)


def playbook_template(
    playbook: Path,
    *,
    base: Template | None = None,
    options: Mapping[str, Any] | None = None,
    build_options: Mapping[str, Any] | None = None,
    verify: Path | None = None,
) -> Template:
    """The template ``bake --playbook`` runs. ``build_options`` configure the default local build
    (ignored when ``base`` is given); ``verify`` is a playbook each build runs as a test (with
    the same ``options``)."""
    if not Path(playbook).is_file():
        raise BakeError(
            f"playbook {playbook} not found", hint="give the path of a playbook file (site.yml)"
        )
    provisioner = playbook_provisioner(playbook, options)
    tests = (TestSpec(playbook_provisioner(verify, options)),) if verify is not None else ()
    if base is not None:
        builds = tuple(
            replace(b, provisioners=(*b.provisioners, provisioner), tests=(*b.tests, *tests))
            for b in base.builds
        )
        return replace(
            base,
            builds=builds,
            provisioners=(*base.provisioners, provisioner),
            tests=(*base.tests, *tests),
        )
    cls = config_types.builder_config_class(DEFAULT_BUILD)
    if cls is None:
        raise BakeError("the local builder is not available")
    config, issues = decode(cls, dict(build_options or {}), file="<command line>", path="")
    if issues:
        raise ConfigError(issues)
    build = BuildSpec(DEFAULT_BUILD, DEFAULT_BUILD, config, (provisioner,), tests=tests)
    return Template(
        path=None,
        builds=(build,),
        provisioners=(provisioner,),
        tests=tests,
        source_format="playbook",
    )
