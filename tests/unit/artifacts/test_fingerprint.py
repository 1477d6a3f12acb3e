"""The input fingerprint changes exactly when an input of the build changes, and its parts name
the input: role files (also through meta dependencies and include_role), group_vars, vars files,
scripts, extra vars, options, the source. Names, paths, timeouts and secrets' values are not in it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from bakeansible.artifacts.fingerprint import build_fingerprint, fingerprint_inputs, input_files
from bakeansible.builders.local.config import LocalConfig
from bakeansible.builders.tencentcloud.config import TencentCvmConfig
from bakeansible.config.model import BuildSpec, ProvisionerSpec
from bakeansible.provisioners.config import AnsibleConfig, ShellConfig

REPO = Path(__file__).resolve().parents[3]


def make_project(tmp_path: Path, **ansible: object) -> tuple[Path, BuildSpec]:
    shutil.copytree(REPO / "playbooks", tmp_path / "playbooks")
    shutil.copytree(REPO / "roles", tmp_path / "roles")
    cfg = AnsibleConfig(playbook_file="playbooks/site.yml", **ansible)  # type: ignore[arg-type]
    return tmp_path, BuildSpec("local", "local", LocalConfig(), (ProvisionerSpec("ansible", cfg),))


def parts(spec: BuildSpec, project: Path, source: str = "base", **kw: object) -> dict[str, str]:
    return fingerprint_inputs(spec, project, source, **kw)[1]  # type: ignore[arg-type]


def digest(spec: BuildSpec, project: Path, source: str = "base") -> str:
    return fingerprint_inputs(spec, project, source)[0]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_parts_name_the_inputs(tmp_path: Path) -> None:
    project, spec = make_project(tmp_path, extra_vars={"nginx_port": "8080"})
    got = parts(replace(spec, config=LocalConfig(extra_packages=("curl",))), project)
    for name in (
        "source", "file:playbooks/site.yml", "file:roles/nginx/templates/site.conf.j2",
        "file:roles/nginx/tasks/main.yml", "file:roles/nginx/defaults/main.yml",
        "var:nginx_port", "option:builder.extra_packages",
    ):  # fmt: skip
        assert name in got, name
    # What Ansible never reads when it plays the role is no input.
    assert not [p for p in got if "molecule" in p or p.endswith("README.md")]
    assert digest(spec, project) == digest(spec, project)
    assert build_fingerprint(spec, project, "base") == digest(spec, project)


def test_what_does_not_change_the_result_is_left_out(tmp_path: Path) -> None:
    project, spec = make_project(tmp_path)
    first = digest(spec, project)
    for config in (
        LocalConfig(image_name="web-1764489600"),  # {{timestamp}} rendered
        LocalConfig(output_dir="/srv/images"),
        LocalConfig(ssh_timeout=5, boot_timeout=9, max_build_time=60),
    ):
        assert digest(replace(spec, config=config), project) == first, config
    write(project / "roles/nginx/molecule/default/verify.yml", "- hosts: all\n")
    write(project / "roles/nginx/README.md", "changed\n")
    write(project / "roles/unused/tasks/main.yml", "- debug: msg=unused\n")
    write(project / "playbooks/other.yml", "- hosts: all\n")
    assert digest(spec, project) == first
    verbose = replace(spec.provisioners[0], config=AnsibleConfig(
        playbook_file="playbooks/site.yml", verbosity=3), timeout=60.0, max_retries=2)
    assert digest(replace(spec, provisioners=(verbose,)), project) == first


def test_tencent_credentials_and_names_are_left_out(tmp_path: Path) -> None:
    project, spec = make_project(tmp_path)
    base = TencentCvmConfig(region="ap-guangzhou", zone="ap-guangzhou-3", instance_type="S5",
                            source_image_id="img-eb30mz89", image_name="a")  # fmt: skip
    tencent = replace(spec, type="tencentcloud-cvm", config=base)
    first = digest(tencent, project)
    other = replace(base, secret_id="AKID", secret_key="SECRET", image_name="b-1764489600",
                    endpoint="http://127.0.0.1:1", vpc_name="x", image_ready_timeout=9)  # fmt: skip
    assert digest(replace(tencent, config=other), project) == first
    assert "option:builder.secret_key" not in parts(replace(tencent, config=other), project)
    changed = replace(base, image_copy_regions=("ap-shanghai",))
    assert "option:builder.image_copy_regions" in parts(replace(tencent, config=changed), project)


def test_roles_through_meta_dependencies_and_include_role(tmp_path: Path) -> None:
    project, spec = make_project(tmp_path)
    write(project / "roles/common/tasks/main.yml", "- ansible.builtin.debug: msg=common\n")
    write(project / "roles/common/meta/main.yml", "dependencies:\n  - role: base_packages\n")
    write(project / "roles/base_packages/vars/main.yml", "packages: [curl]\n")
    write(project / "roles/extra/templates/motd.j2", "hello\n")
    meta = project / "roles/nginx/meta/main.yml"
    meta.write_text(meta.read_text().replace("dependencies: []", "dependencies:\n  - common\n"))
    tasks = project / "roles/nginx/tasks/main.yml"
    tasks.write_text(tasks.read_text() + "\n- ansible.builtin.include_role:\n    name: extra\n")
    got = parts(spec, project)
    assert "file:roles/common/tasks/main.yml" in got
    assert "file:roles/base_packages/vars/main.yml" in got, "dependency of a dependency"
    assert "file:roles/extra/templates/motd.j2" in got, "include_role inside a role"
    first = digest(spec, project)
    write(project / "roles/base_packages/vars/main.yml", "packages: [curl, jq]\n")
    assert digest(spec, project) != first


def test_a_role_named_by_an_expression_counts_every_role(tmp_path: Path) -> None:
    project, spec = make_project(tmp_path)
    write(project / "roles/other/tasks/main.yml", "- ansible.builtin.debug: msg=x\n")
    write(project / "playbooks/site.yml",
          "- hosts: all\n  tasks:\n    - ansible.builtin.import_role:\n"
          "        name: \"{{ which_role }}\"\n")  # fmt: skip
    got = parts(spec, project)
    assert "file:roles/other/tasks/main.yml" in got and "file:roles/nginx/tasks/main.yml" in got


def test_playbook_neighbours_vars_files_and_extra_var_files(tmp_path: Path) -> None:
    project, spec = make_project(
        tmp_path, extra_arguments=("-e", "@vars/extra.yml", "--extra-vars=@vars/more.yml")
    )
    write(project / "playbooks/group_vars/all.yml", "nginx_port: 81\n")
    write(project / "playbooks/host_vars/default.yml", "x: 1\n")
    write(project / "playbooks/vars/site.yml", "y: 2\n")
    write(project / "vars/extra.yml", "z: 3\n")
    write(project / "vars/more.yml", "w: 4\n")
    site = project / "playbooks/site.yml"
    site.write_text(site.read_text().replace("  roles:", "  vars_files: [vars/site.yml]\n  roles:"))
    got = parts(spec, project)
    for name in ("playbooks/group_vars/all.yml", "playbooks/host_vars/default.yml",
                 "playbooks/vars/site.yml", "vars/extra.yml", "vars/more.yml"):  # fmt: skip
        assert f"file:{name}" in got, name
    first = digest(spec, project)
    write(project / "playbooks/group_vars/all.yml", "nginx_port: 82\n")
    assert digest(spec, project) != first


def test_scripts_and_galaxy_file(tmp_path: Path) -> None:
    project, spec = make_project(tmp_path, galaxy_file="requirements.yml")
    write(project / "requirements.yml", "roles: []\n")
    write(project / "scripts/a.sh", "echo a\n")
    shell = ProvisionerSpec("shell", ShellConfig(scripts=("scripts/a.sh",)))
    spec = replace(spec, provisioners=(*spec.provisioners, shell))
    got = parts(spec, project)
    assert "file:requirements.yml" in got and "file:scripts/a.sh" in got
    assert project / "scripts/a.sh" in input_files(spec, project)
    assert got["option:provisioners"] == "ansible,shell"


def test_secrets_are_never_in_clear(tmp_path: Path) -> None:
    project, spec = make_project(tmp_path, extra_vars={"db_password": "hunter2-secret"})
    got = parts(spec, project, secrets=["hunter2-secret"])
    assert got["var:db_password"].startswith("pbkdf2:")
    assert "hunter2" not in json.dumps(got)
    plain = parts(spec, project)["var:db_password"]
    assert plain.startswith("sha256:") and "hunter2" not in plain


def test_source_identity_is_an_input(tmp_path: Path) -> None:
    project, spec = make_project(tmp_path)
    assert digest(spec, project, "debian-bookworm-1 dpkg:a") != digest(
        spec, project, "debian-bookworm-1 dpkg:b"
    )


def test_collections_vendored_installed_and_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vendored collection counts with its files (and the roles it uses), an installed one by
    its version, one installed only at build time (galaxy_file) as absent; core modules and
    short names are no collection."""
    project, spec = make_project(tmp_path / "p")
    installed = tmp_path / "installed"
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", str(installed))
    vendored = project / "playbooks/collections/ansible_collections/acme/web"
    write(vendored / "roles/front/tasks/main.yml",
          "- community.general.ufw:\n    rule: allow\n- ansible.builtin.import_role:\n"
          "    name: acme.web.base\n")  # fmt: skip
    write(vendored / "roles/base/tasks/main.yml", "- ansible.builtin.debug: msg=base\n")
    write(vendored / "plugins/modules/thing.py", "# a module\n")
    write(vendored / "tests/sanity/ignore.txt", "x\n")
    manifest = installed / "ansible_collections/community/general/MANIFEST.json"
    write(manifest, json.dumps({"collection_info": {"version": "9.1.0"}}))
    write(project / "playbooks/site.yml",
          "- hosts: all\n  collections: [acme.tools]\n  roles:\n    - acme.web.front\n"
          "  tasks:\n    - ansible.builtin.debug: msg=x\n    - ansible.posix.sysctl:\n"
          "        name: x\n")  # fmt: skip
    got = parts(spec, project)
    prefix = "file:playbooks/collections/ansible_collections/acme/web/"
    for name in ("roles/front/tasks/main.yml", "roles/base/tasks/main.yml",
                 "plugins/modules/thing.py"):  # fmt: skip
        assert prefix + name in got, name
    assert prefix + "tests/sanity/ignore.txt" not in got
    assert got["collection:community.general"] == "version:9.1.0", "used by a vendored role"
    assert got["collection:ansible.posix"] == "absent"
    assert got["collection:acme.tools"] == "absent", "the play's collections keyword"
    assert not [p for p in got if p.startswith("collection:ansible.builtin")]
    assert "collection:acme.web" not in got, "vendored: counted by its files"

    first = digest(spec, project)
    write(manifest, json.dumps({"collection_info": {"version": "9.2.0"}}))
    assert digest(spec, project) != first, "a new version of an installed collection"
    from bakeansible.pipeline.incremental import diff_parts

    (reason,) = diff_parts(got, parts(spec, project))
    assert str(reason) == "collection changed: community.general (version:9.1.0 -> version:9.2.0)"
    second = digest(spec, project)
    write(vendored / "plugins/modules/thing.py", "# changed\n")
    assert digest(spec, project) != second, "a vendored collection's module changed"
