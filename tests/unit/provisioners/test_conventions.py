"""The pieces behind the Ansible conventions: extra_arguments checked and resolved, ansible.cfg
found and read, bake's required settings winning with a note, search paths merged, the
project's group_vars/host_vars linked beside the inventory, and diffs rendered."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bakeansible.config.playbook import playbook_template
from bakeansible.errors import BakeError
from bakeansible.pipeline.context import BuildContext, SshTarget
from bakeansible.provisioners.ansible import AnsibleProvisioner, render_diff
from bakeansible.provisioners.arguments import resolve_extra_arguments
from bakeansible.provisioners.varsdirs import link_vars_dirs, unlink_vars_dirs, vars_dir_sources


def test_extra_arguments_pass_through_with_project_relative_files(tmp_path: Path) -> None:
    (tmp_path / "vars").mkdir()
    (tmp_path / "vars/prod.yml").write_text("a: 1\n")
    (tmp_path / "vault.txt").write_text("pw\n")
    args = ["--tags", "web", "--skip-tags=slow", "-e", "@vars/prod.yml", "-e", "x=1", "-vv",
            "--diff", "--vault-id", "prod@vault.txt", "--limit", "default"]  # fmt: skip
    assert resolve_extra_arguments(args, tmp_path) == [
        "--tags", "web", "--skip-tags", "slow", "-e", f"@{tmp_path}/vars/prod.yml", "-e", "x=1",
        "-vv", "--diff", "--vault-id", f"prod@{tmp_path}/vault.txt", "--limit", "default",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-i", "hosts"], "-i cannot be used with bake: bake writes the inventory"),
        (["--inventory=hosts"], "--inventory cannot be used"),
        (["--check"], "run `bake build -check`"),
        (["-u", "admin"], "set the provisioner's `user`"),
        (["-K"], "without a terminal"),
        (["--vault-id", "x@prompt"], "asks on a terminal"),
        (["--list-tasks"], "it runs no play"),
        (["other.yml"], "unexpected argument 'other.yml'"),
        (["--tags"], "--tags needs a value"),
        (["-e", "@missing.yml"], "missing.yml does not exist"),
    ],
)
def test_extra_arguments_bake_cannot_honour_are_refused(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    with pytest.raises(BakeError) as err:
        resolve_extra_arguments(args, tmp_path)
    assert expected in err.value.message


def provisioner(project: Path, **options: object) -> AnsibleProvisioner:
    (project / "playbooks").mkdir(parents=True, exist_ok=True)
    (project / "playbooks/p.yml").write_text("- hosts: all\n  tasks: []\n")
    spec = playbook_template(project / "playbooks/p.yml", options=dict(options)
                             ).builds[0].provisioners[0]  # fmt: skip
    return AnsibleProvisioner(spec, project)


def test_ansible_cfg_and_environment_merge_and_required_settings_win(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "ansible.cfg").write_text(
        "[defaults]\nroles_path = cfg_roles:/abs/roles\nhost_key_checking = true\n"
        "retry_files_enabled = False\ninventory = inv/hosts\n"
        "[ssh_connection]\ncontrol_path = /tmp/%%h\npipelining = False\n"
    )
    monkeypatch.setenv("ANSIBLE_ROLES_PATH", "/env/roles")
    monkeypatch.setenv("ANSIBLE_FORKS", "3")
    monkeypatch.delenv("ANSIBLE_CONFIG", raising=False)
    prov = provisioner(project, ansible_env_vars=["ANSIBLE_NOCOLOR=0", "MY_VAR=1"])
    ctx = BuildContext(uuid.uuid4().hex, "b", "local", output_dir=tmp_path / "out")
    ctx.ssh = SshTarget("10.0.0.2", 22, "root", tmp_path / "key")
    try:
        plan = prov.prepare_run(ctx)
    finally:
        ctx.remove_temp_dir()
    env = plan.envvars
    assert env["ANSIBLE_CONFIG"] == str(project / "ansible.cfg")
    roles = env["ANSIBLE_ROLES_PATH"].split(":")
    assert roles.index(str(project / "roles")) < roles.index("/env/roles")
    assert roles.index("/env/roles") < roles.index(str(project / "cfg_roles"))
    assert roles.index("/abs/roles") < roles.index("/etc/ansible/roles")
    assert env["ANSIBLE_HOST_KEY_CHECKING"] == "False" and env["ANSIBLE_NOCOLOR"] == "1"
    assert env["ANSIBLE_SSH_CONTROL_PATH"] == "%(directory)s/%%C"
    assert "ANSIBLE_PIPELINING" not in env  # the project's ansible.cfg said otherwise
    assert env["MY_VAR"] == "1" and "ANSIBLE_FORKS" not in env  # passed by the environment
    cfg = project / "ansible.cfg"
    assert plan.overridden == [
        f"[defaults] host_key_checking in {cfg}",
        "ANSIBLE_NOCOLOR from the environment",
        f"[ssh_connection] control_path in {cfg}",
        f"[defaults] inventory in {cfg}",
    ]


def test_unreadable_ansible_cfg_and_missing_ansible_config_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANSIBLE_CONFIG", raising=False)
    (tmp_path / "ansible.cfg").write_text("no section header\n")
    with pytest.raises(BakeError, match="Cannot read .*ansible.cfg"):
        provisioner(tmp_path).settings()
    monkeypatch.setenv("ANSIBLE_CONFIG", str(tmp_path / "nope.cfg"))
    with pytest.raises(BakeError, match="ANSIBLE_CONFIG names .*nope.cfg, which is not a file"):
        provisioner(tmp_path).settings()


def test_vars_dirs_of_the_cfg_inventory_win_over_the_project_and_links_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANSIBLE_CONFIG", raising=False)
    project = tmp_path / "project"
    (project / "inventory/group_vars").mkdir(parents=True)
    (project / "group_vars").mkdir()
    (project / "host_vars").mkdir()
    (project / "ansible.cfg").write_text("[defaults]\ninventory = inventory/hosts.yml\n")
    sources = vars_dir_sources(provisioner(project).settings(), project)
    assert sources == [project / "inventory", project]
    out = tmp_path / "out"
    out.mkdir()
    links = link_vars_dirs(out, sources)
    assert [(link.name, link.readlink()) for link in links] == [
        ("group_vars", project / "inventory/group_vars"), ("host_vars", project / "host_vars"),
    ]  # fmt: skip
    unlink_vars_dirs(out)
    assert not list(out.iterdir()) and (project / "group_vars").is_dir()


def test_diffs_are_rendered_as_unified_diffs() -> None:
    lines = render_diff([{"before": "a\nb\n", "after": "a\nc\n", "before_header": "/etc/x",
                          "after_header": "/etc/x"}, {"prepared": "+ nginx"}])  # fmt: skip
    assert lines == ["    --- /etc/x", "    +++ /etc/x", "    @@ -1,2 +1,2 @@", "     a",
                     "    -b", "    +c", "    + nginx"]  # fmt: skip
    assert render_diff({"before": "x", "after": "x"}) == []


def test_changed_tasks_are_collected_for_the_idempotence_check() -> None:
    from bakeansible.provisioners.ansible import _EventState, _render_event

    state = _EventState()
    events = [
        {"event": "playbook_on_task_start", "event_data": {"task": "Install"}},
        {"event": "runner_on_ok", "event_data": {"host": "default", "res": {"changed": False}}},
        {"event": "playbook_on_task_start", "event_data": {"task": "Migrate"}},
        {"event": "runner_on_ok", "event_data": {"host": "default", "res": {"changed": True}}},
        {"event": "playbook_on_handler_task_start", "event_data": {"task": "Reload"}},
        {"event": "runner_on_ok", "event_data": {"host": "web1", "res": {"changed": True}}},
    ]
    lines = [line for event in events for line in _render_event(event, state)]
    assert state.changed == [("Migrate", "default"), ("Reload", "web1")]
    assert lines == ["TASK [Install] ok: default", "TASK [Migrate] changed: default",
                     "TASK [Reload] changed: web1"]  # fmt: skip
