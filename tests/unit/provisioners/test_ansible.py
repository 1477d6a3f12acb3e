"""ansible-playbook runs for real here, against no host: what a run does before any task."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml

from bakeansible.config.playbook import playbook_template
from bakeansible.errors import StepError
from bakeansible.pipeline.context import BuildContext, SshTarget
from bakeansible.pipeline.inventory import BuildInventory
from bakeansible.provisioners.ansible import AnsibleProvisioner

REPO = Path(__file__).resolve().parents[3]


def test_an_inventory_ansible_cannot_parse_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As when the bake_cvm plugin is not where bake says: without the guard, Ansible falls back
    # to an implicit localhost, the play matches no host, and the "build" succeeds unprovisioned.
    project = tmp_path / "project"
    shutil.copytree(REPO / "playbooks", project / "playbooks")
    shutil.copytree(REPO / "roles", project / "roles")
    spec = playbook_template(project / "playbooks/site.yml").builds[0].provisioners[0]
    prov = AnsibleProvisioner(spec, project)
    ctx = BuildContext(uuid.uuid4().hex, "tc", "tencentcloud-cvm", output_dir=tmp_path / "out")
    ctx.ssh = SshTarget("127.0.0.2", 22, "root", tmp_path / "key")

    class MissingPluginInventory:
        """A builder's inventory hook whose plugin is not where it says."""

        def write_inventory(
            self, ctx: BuildContext, directory: Path, *, groups: Sequence[str],
            user: str | None, host_alias: str = "",
        ) -> BuildInventory:
            path = directory / "build.bake_cvm.yml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump({"plugin": "bake_cvm", "regions": ["ap-guangzhou"]}))
            env = {
                "ANSIBLE_INVENTORY_PLUGINS": str(tmp_path / "no-plugins-here"),
                # As write_build_inventory enables them: the yaml plugin then rejects it too.
                "ANSIBLE_INVENTORY_ENABLED": "bake_cvm,host_list,script,auto,yaml,ini",
            }
            return BuildInventory(path, env)

    ctx.inventory = MissingPluginInventory()
    with pytest.raises(StepError) as err:
        try:
            prov.provision(ctx, None, None)  # type: ignore[arg-type]
        finally:
            ctx.remove_temp_dir()
    message = str(err.value)
    assert "ansible-playbook exited with rc=" in message
    assert "inventory" in message.lower(), message
