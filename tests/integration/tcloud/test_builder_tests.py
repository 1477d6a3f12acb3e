"""The test phase of a Tencent build on the emulator: the new image is booted as a fresh CVM in
the build's network, the tests (``_bake_tests`` in the Packer JSON) run on it through the
bake_cvm inventory, and the test instance is terminated before the network goes."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bakeansible.pipeline.journal import Journal
from bakeansible.testing.tcloud import TencentEmulator
from tests.integration.tcloud.seed import (
    client,
    emulator_env,
    image_ids,
    remove_images,
    run_bake,
    seed_template,
)

VERIFY = """\
- name: Verify the baked marker
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the marker
      ansible.builtin.slurp:
        src: /etc/baked
      register: marker
    - name: The marker was baked in
      ansible.builtin.assert:
        that: (marker.content | b64decode | trim) == 'baked'
    - name: Say which instance this is (bake_cvm's instance_id host variable)
      ansible.builtin.copy:
        content: "{{ inventory_hostname }} {{ instance_id }}"
        dest: "{{ playbook_dir }}/reached"
        mode: "0644"
      delegate_to: localhost
"""


def test_tencent_build_tests_new_image_on_fresh_cvm(
    tcloud_emulator: TencentEmulator, project: Path, state_dir: Path
) -> None:
    emu = tcloud_emulator
    (project / "playbooks/check_baked.yml").write_text(VERIFY)
    template = seed_template(
        "bake-tested", ["echo baked > /etc/baked", "touch /run/build-instance"]
    )
    template["_bake_tests"] = [
        {"type": "ansible", "playbook_file": "playbooks/check_baked.yml"},
        {"type": "shell", "name": "fresh boot", "inline": ["test ! -e /run/build-instance"]},
    ]
    (project / "t.json").write_text(json.dumps(template))
    result = run_bake(["build", "-color=false", "t.json"], project, emulator_env(emu))
    out = result.stdout
    images = image_ids(out) if "Tencentcloud images(" in out else {}
    try:
        assert result.returncode == 0, out + result.stderr
        image = images["ap-guangzhou"]
        build_instance, test_instance = re.findall(r"Instance created: (ins-\w+)", out)
        assert build_instance != test_instance
        tested = out[out.index("Testing the new image on a fresh instance...") :]
        # The test instance boots the new image, in the build's network, which still exists.
        assert f"Trying to check source image: {image}..." in tested
        assert f"Instance created: {test_instance}" in tested
        assert "Trying to create a new vpc" not in tested
        # The emulator reaches each instance from its own host address: SSH let in for it too.
        assert "Securitygroup policies created: SSH (22/tcp) from " in tested
        # Ansible reached the test instance, and only it, through bake_cvm, which names it by
        # its host_alias (tag bake:host-alias), as the build's own instance.
        assert "TASK [The marker was baked in] ok: default" in tested
        assert (project / "playbooks/reached").read_text() == f"default {test_instance}"
        assert build_instance not in tested.split("Tests passed")[0]
        assert "Test 2/2: fresh boot" in tested
        assert "Tests passed on a fresh instance of ap-guangzhou:" in tested
        # Removed before the network (else the subnet and group could not be deleted).
        cleanup = tested[tested.index("Tests passed") :]
        assert cleanup.index("Cleaning up securitygroup...") > 0
        assert (
            tested.index(f"Instance created: {test_instance}")
            < tested.index("Cleaning up instance...")
            < tested.index("Tests passed")
        )
        api = client(emu)
        left = api.cvm("DescribeInstances", {"InstanceIds": [test_instance]}).InstanceSet or []
        assert [i.InstanceState for i in left] in ([], ["TERMINATING"], ["TERMINATED"])
        manifest = json.loads((project / "output/manifest.json").read_text())
        assert manifest["builds"][-1]["test_result"] == "passed"
        assert Journal(state_dir / "journal.sqlite").open_resources() == []
    finally:
        remove_images(emu, images)
