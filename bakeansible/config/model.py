"""The resolved template: variables, builds, provisioners and post-processors.

Builder and provisioner options are their own frozen dataclasses (``LocalConfig``,
``AnsibleConfig``...), found through ``bakeansible.registry`` by their ``type``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bakeansible.errors import ConfigIssue


@dataclass(frozen=True)
class Variable:
    """A template variable and its resolved value."""

    name: str
    value: Any = None
    default: Any = None
    description: str = ""
    sensitive: bool = False
    required: bool = False
    type: str = "string"
    #: Where ``value`` came from: "default", a -var-file path, "env" (BAKE_VAR_x), "-var", or ""
    source: str = ""
    #: Why bake treats an undeclared variable as sensitive (e.g. it feeds secret_key)
    sensitive_reason: str = ""

    def expression(self) -> str | None:
        """The default as written when the value was computed from it (``{{env `X`}}``...),
        which is what Packer shows instead of the value."""
        if self.source == "default" and isinstance(self.default, str) and "{{" in self.default:
            return self.default
        return None


@dataclass(frozen=True)
class BuildSpec:
    """One build: a name, a builder type, its typed options and what runs on it.

    ``provisioners`` and ``post_processors`` are already filtered by only/except and interpolated
    for this build (``{{build_name}}`` differs per build).
    """

    name: str
    type: str
    config: Any  # the builder's config dataclass, e.g. LocalConfig
    provisioners: tuple[ProvisionerSpec, ...] = ()
    post_processors: tuple[PostProcessorSpec, ...] = ()
    file: str = ""  # the template it comes from, for messages
    path: str = ""  # its place there, e.g. builders[0]
    #: Checks run on a fresh instance of the new image (filtered and interpolated like
    #: ``provisioners``).
    tests: tuple[TestSpec, ...] = ()

    def issue(self, field: str, message: str) -> ConfigIssue:
        """A problem with one of this build's options found after loading (preflight)."""
        where = f"{self.path}.{field}" if self.path else field
        return ConfigIssue(self.file or "<template>", where, message)


@dataclass(frozen=True)
class ProvisionerSpec:
    """One provisioner with Packer's common controls."""

    type: str
    config: Any  # e.g. AnsibleConfig, ShellConfig
    name: str = ""
    only: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()
    pause_before: float = 0.0
    timeout: float = 0.0  # seconds per attempt; 0 = none
    max_retries: int = 0


ON_TEST_FAILURE = ("delete", "keep")


@dataclass(frozen=True)
class TestSpec:
    """A check of the new image: a provisioner (``ansible`` verify playbook or ``shell``
    commands) run against a fresh instance booted from it, once the image is made.

    ``on_test_failure`` says what happens to the image when this test fails: ``delete``
    (the default) or ``keep``. The build fails either way.
    """

    __test__ = False  # not a pytest test class

    provisioner: ProvisionerSpec
    on_test_failure: str = "delete"

    @property
    def keep_image(self) -> bool:
        return self.on_test_failure == "keep"


@dataclass(frozen=True)
class PostProcessorSpec:
    """A post-processor (``manifest`` or ``checksum``) and its options."""

    type: str
    options: dict[str, Any] = field(default_factory=dict)
    only: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()


@dataclass(frozen=True)
class Template:
    """A fully resolved template, ready to plan builds from."""

    path: Path | None
    variables: dict[str, Variable] = field(default_factory=dict)
    builds: tuple[BuildSpec, ...] = ()
    provisioners: tuple[ProvisionerSpec, ...] = ()
    post_processors: tuple[PostProcessorSpec, ...] = ()
    tests: tuple[TestSpec, ...] = ()  # the template-level tests, for inspect
    notes: tuple[str, ...] = ()  # things accepted but ignored, e.g. min_packer_version
    warnings: tuple[str, ...] = ()  # accepted but doubtful, e.g. a region bake does not know
    source_format: str = ""  # "bake" (bake.yml), "packer" (Packer JSON) or "playbook"

    def sensitive_values(self) -> list[str]:
        return [str(v.value) for v in self.variables.values() if v.sensitive and v.value]
