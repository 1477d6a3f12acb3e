"""The molecule-bake driver: molecule loads it, its schema, and the connection it gives Ansible."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import yaml
from molecule.model import schema_v3

from bakeansible.molecule_driver.driver import NAME, BakeDriver

REPO = Path(__file__).resolve().parents[3]
SCENARIO = REPO / "roles/nginx/molecule/default/molecule.yml"


def driver_for(ephemeral: Path) -> BakeDriver:
    config: Any = SimpleNamespace(
        scenario=SimpleNamespace(ephemeral_directory=str(ephemeral)),
        config_data={"driver": {"ssh_connection_options": [], "safe_files": []}},
    )
    return BakeDriver(config)


def test_connection_options_come_from_the_instance_config(tmp_path: Path) -> None:
    driver = driver_for(tmp_path)
    assert driver.name == NAME == "molecule-bake"
    assert driver.ansible_connection_options("instance") == {}, "before create"
    (tmp_path / "instance_config.yml").write_text(yaml.safe_dump([
        {"instance": "other", "address": "10.0.0.9", "port": 22, "user": "root",
         "identity_file": "/k2"},
        {"instance": "instance", "address": "10.213.0.2", "port": "22", "user": "root",
         "identity_file": "/state/instances/x/ssh/id_ed25519"},
    ]))
    options = driver.ansible_connection_options("instance")
    assert options["ansible_host"] == "10.213.0.2"
    assert options["ansible_private_key_file"] == "/state/instances/x/ssh/id_ed25519"
    assert options["ansible_user"] == "root" and options["ansible_port"] == "22"
    assert "StrictHostKeyChecking=no" in options["ansible_ssh_common_args"]
    assert driver.login_options("instance")["address"] == "10.213.0.2"
    assert driver.get_playbook("create") and driver.get_playbook("destroy")


def test_the_nginx_scenario_passes_molecules_schema_and_bake_alone_would_not() -> None:
    data = yaml.safe_load(SCENARIO.read_text())
    assert data["driver"]["name"] == NAME
    assert schema_v3.validate(data) == []
    # Why the driver is not called "bake": molecule's own schema refuses the name.
    assert schema_v3.validate({**data, "driver": {"name": "bake"}}) != []
