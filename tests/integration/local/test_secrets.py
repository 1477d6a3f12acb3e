"""No secret reaches anything bake prints or writes, in any encoding (raw, JSON, shell, URL,
base64) — terminal, machine-readable output, debug log, kept ansible-runner artifacts, manifest."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bakeansible.secrets import escaped_forms
from tests.conftest import bake_env

pytestmark = pytest.mark.usefixtures("base_rootfs")

SECRET = "s3cr'et value/with+chars=&"

TEMPLATE = """\
variables:
  db_password: {required: true, sensitive: true}
builds:
  - name: sec
    type: local
    image_name: sec
provisioners:
  - type: ansible
    playbook_file: playbooks/leak.yml
    extra_vars: {db_password: "{{user `db_password`}}"}
  - type: shell
    environment_vars: ["DB_PASSWORD={{user `db_password`}}"]
    inline:
      - 'echo "raw: $DB_PASSWORD"'
      - 'printf %s "$DB_PASSWORD" | base64'
  - type: shell
    environment_vars: ["DB_PASSWORD={{user `db_password`}}"]
    script: encode.py
"""

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: Print the password
      ansible.builtin.debug:
        msg: "password is {{ db_password }}"
    - name: Write it into the image, as apps do
      ansible.builtin.copy:
        dest: /etc/app.conf
        content: "password={{ db_password }}\\n"
        mode: "0600"
"""


ENCODER = """\
#!/usr/bin/env python3
import json, os, urllib.parse
v = os.environ["DB_PASSWORD"]
print(json.dumps(v))
print(urllib.parse.quote(v, safe=""))
"""


def test_no_secret_anywhere(project: Path, state_dir: Path, no_leaks: None, tmp_path: Path) -> None:
    (project / "bake.yml").write_text(TEMPLATE)
    (project / "encode.py").write_text(ENCODER)
    (project / "playbooks/leak.yml").write_text(PLAYBOOK)
    log = tmp_path / "debug.log"
    outputs = []
    for extra in ([], ["-machine-readable"]):
        result = subprocess.run(
            ["bake", "build", "-force", "-color=false", *extra, "-var", f"db_password={SECRET}"],
            cwd=project, capture_output=True, text=True, timeout=600,
            env=bake_env(BAKE_LOG="1", BAKE_LOG_PATH=str(log)),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        outputs += [result.stdout, result.stderr]
    assert "<sensitive>" in outputs[0]
    written = [p for p in (project / "output").rglob("*") if p.is_file()]
    written = [p for p in written if not p.name.endswith(".tar.zst")] + [log]
    haystacks = outputs + [p.read_text(errors="replace") for p in written]
    forms = escaped_forms(SECRET)
    assert len(forms) >= 5
    for text in haystacks:
        for form in forms:
            assert form not in text
    # The secret is in the image itself: that is the user's data, not a leak by bake.
    conf = subprocess.run(
        ["tar", "--zstd", "-xOf", str(project / "output/sec.tar.zst"), "./etc/app.conf"],
        capture_output=True, check=True,
    )  # fmt: skip
    assert conf.stdout.decode() == f"password={SECRET}\n"
