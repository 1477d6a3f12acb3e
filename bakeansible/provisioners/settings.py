"""The project's ``ansible.cfg`` and ``ANSIBLE_*`` environment, and the settings bake needs.

Ansible reads its settings from the environment before ``ansible.cfg``, so bake passes the
settings it needs as ``ANSIBLE_*`` variables and they win; everything else in the project's
``ansible.cfg`` and the user's environment applies as Ansible would apply it. When the user set
one of bake's required settings to something else, a note names it. Search paths are merged
rather than overridden: the roles and collections directories of ``ansible.cfg`` and of
``ANSIBLE_ROLES_PATH``/``ANSIBLE_COLLECTIONS_PATH`` follow the project's own.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bakeansible.errors import BakeError

#: Settings bake cannot run without, by environment variable: (ansible.cfg section, key).
REQUIRED_KEYS = {
    "ANSIBLE_HOST_KEY_CHECKING": ("defaults", "host_key_checking"),
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": ("inventory", "unparsed_is_failed"),
    "ANSIBLE_RETRY_FILES_ENABLED": ("defaults", "retry_files_enabled"),
    "ANSIBLE_NOCOLOR": ("defaults", "nocolor"),
    "ANSIBLE_SSH_CONTROL_PATH_DIR": ("ssh_connection", "control_path_dir"),
    "ANSIBLE_SSH_CONTROL_PATH": ("ssh_connection", "control_path"),
}
#: Not set by bake but replaced all the same: ansible-runner passes ``-i`` with the build's own.
INVENTORY_KEY = ("ANSIBLE_INVENTORY", ("defaults", "inventory"))
#: bake's preferences: set only when neither ansible.cfg nor the environment says otherwise.
DEFAULT_KEYS = {
    "ANSIBLE_PIPELINING": (
        ("defaults", "pipelining"), ("connection", "pipelining"), ("ssh_connection", "pipelining")
    )
}

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


@dataclass(frozen=True)
class ProjectSettings:
    """What the project and the user's environment say to Ansible."""

    #: The ansible.cfg Ansible will read (bake passes it as ANSIBLE_CONFIG), if any.
    config_file: Path | None = None
    config: configparser.ConfigParser = field(default_factory=configparser.ConfigParser)
    #: The ANSIBLE_* variables of bake's environment (and of ansible_env_vars, which win).
    environ: Mapping[str, str] = field(default_factory=dict)

    def get(self, section: str, key: str) -> str | None:
        if self.config.has_option(section, key):
            return self.config.get(section, key)
        return None

    def paths(self, env_var: str, section: str, key: str) -> list[str]:
        """A search path from the environment and from ansible.cfg (relative to its file)."""
        found: list[str] = []
        if env_var in self.environ:
            found += [str(Path(p).expanduser()) for p in self.environ[env_var].split(":") if p]
        value = self.get(section, key)
        if value and self.config_file is not None:
            base = self.config_file.parent
            for part in value.split(":"):
                if part:
                    p = Path(os.path.expandvars(part)).expanduser()
                    found.append(str(p if p.is_absolute() else (base / p).resolve()))
        return found


def find_config_file(
    environ: Mapping[str, str], project_dir: Path, playbook: Path
) -> Path | None:
    """ANSIBLE_CONFIG, else ``ansible.cfg`` beside bake.yml, else beside the playbook."""
    if environ.get("ANSIBLE_CONFIG"):
        path = Path(environ["ANSIBLE_CONFIG"]).expanduser()
        if not path.is_file():
            raise BakeError(
                f"ANSIBLE_CONFIG names {path}, which is not a file.",
                hint="Point ANSIBLE_CONFIG at your ansible.cfg, or unset it.",
            )
        return path.resolve()
    for candidate in (project_dir / "ansible.cfg", playbook.parent / "ansible.cfg"):
        if candidate.is_file():
            return candidate.resolve()
    return None


def read_project_settings(
    project_dir: Path, playbook: Path, env_vars: Sequence[str] = ()
) -> ProjectSettings:
    """The ansible.cfg and ANSIBLE_* environment the run will see; raise BakeError if the
    ansible.cfg cannot be parsed."""
    environ = {k: v for k, v in os.environ.items() if k.startswith("ANSIBLE_")}
    for pair in env_vars:
        key, _, value = pair.partition("=")
        environ[key] = value
    path = find_config_file(environ, project_dir, playbook)
    # As Ansible reads it: no interpolation, ';' and '#' start comments.
    config = configparser.ConfigParser(
        interpolation=None, inline_comment_prefixes=(";",), strict=False
    )
    if path is not None:
        try:
            config.read_string(path.read_text(), source=str(path))
        except (configparser.Error, OSError, UnicodeDecodeError) as exc:
            raise BakeError(
                f"Cannot read {path}: {exc}".replace("\n", " "),
                hint="Fix the ansible.cfg (INI format, as Ansible reads it).",
            ) from None
    return ProjectSettings(path, config, environ)


def _same(a: str, b: str) -> bool:
    a, b = a.strip().lower(), b.strip().lower()
    return a == b or (a in _TRUE and b in _TRUE) or (a in _FALSE and b in _FALSE)


def overridden(settings: ProjectSettings, required: Mapping[str, str]) -> list[str]:
    """The user's settings that bake's ``required`` ones replace, for the note."""
    found = []
    for var, (section, key) in [*REQUIRED_KEYS.items(), INVENTORY_KEY]:
        mine = required.get(var)
        theirs_env = settings.environ.get(var)
        if theirs_env is not None and (mine is None or not _same(theirs_env, mine)):
            found.append(f"{var} from the environment")
        theirs_cfg = settings.get(section, key)
        if theirs_cfg is not None and (mine is None or not _same(theirs_cfg, mine)):
            found.append(f"[{section}] {key} in {settings.config_file}")
    return found


def apply_defaults(env: dict[str, str], settings: ProjectSettings, defaults: Mapping[str, str]
                   ) -> None:
    """Add bake's preferred settings the user did not set in the environment or ansible.cfg."""
    for var, value in defaults.items():
        said = var in settings.environ or any(
            settings.get(section, key) is not None for section, key in DEFAULT_KEYS.get(var, ())
        )
        if not said:
            env[var] = value
