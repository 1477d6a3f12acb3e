"""A ``bake_cvm`` dynamic inventory for the build's own instance, for the Ansible provisioner.

On a Tencent build (``CvmInventory``, put on ``ctx.inventory`` by the builder), Ansible finds
the instance through the same inventory plugin users run against their fleets (``bake_cvm``,
shipped in ``bakeansible/ansible_plugins/inventory/``), filtered to the build's
``bake:build-id`` tag. The file holds no secret: credentials travel in
the environment returned beside it, which the provisioner passes to ansible-runner (and masks).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from bakeansible.ansible_plugins import INVENTORY_PLUGIN_DIR
from bakeansible.builders.tencentcloud.context import TAG_BUILD_ID, TAG_HOST_ALIAS, TencentContext
from bakeansible.pipeline.context import BuildContext
from bakeansible.pipeline.inventory import BuildInventory

#: The plugin's directory in the installed package.
PLUGIN_DIR = INVENTORY_PLUGIN_DIR


def plugin_dir(project_dir: Path | None = None) -> Path:
    """The project's own ``inventory_plugins/`` if it has bake_cvm.py, else bake's."""
    if project_dir is not None and (project_dir / "inventory_plugins" / "bake_cvm.py").is_file():
        return project_dir / "inventory_plugins"
    return PLUGIN_DIR


def render_inventory(
    *,
    region: str,
    build_id: str,
    endpoint: str = "",
    groups: Sequence[str] = ("default",),
    user: str = "root",
    port: int = 22,
    private_key_file: Path | None = None,
    private_address: bool = False,
    instance_id: str = "",
    named_by_tag: bool = False,
) -> dict[str, object]:
    """The ``*.bake_cvm.yml`` document selecting the build's running instance (and only
    ``instance_id`` when given: a test instance runs beside the build's own), named by its
    ``bake:host-alias`` tag when ``named_by_tag`` (else by its instance id)."""
    address = "private_ip_address" if private_address else "public_ip_address"
    compose: dict[str, str] = {
        "ansible_host": f"{address} | default(private_ip_address, true)",
        "ansible_user": repr(user),
        "ansible_port": str(port),
    }
    if private_key_file is not None:
        compose["ansible_ssh_private_key_file"] = repr(str(private_key_file))
    filters = {f"tag:{TAG_BUILD_ID}": build_id}
    if instance_id:
        filters["instance-id"] = instance_id
    doc: dict[str, object] = {
        "plugin": "bake_cvm",
        "regions": [region],
        "filters": filters,
        "include_states": ["RUNNING"],
        "hostnames": [f"tag:{TAG_HOST_ALIAS}", "instance-id"] if named_by_tag else ["instance-id"],
        "compose": compose,
        "groups": {group: "true" for group in groups},
    }
    if endpoint:
        doc["endpoint"] = endpoint
    return doc


def write_build_inventory(
    ctx: BuildContext,
    directory: Path,
    *,
    groups: Sequence[str] = ("default",),
    user: str | None = None,
    host_alias: str = "",
) -> BuildInventory | None:
    """Write ``<directory>/build.bake_cvm.yml`` for a Tencent build; None for other builders.
    The host is named ``host_alias`` when that is the alias its instance was tagged with.

    ``env`` sets ANSIBLE_INVENTORY_PLUGINS/ANSIBLE_INVENTORY_ENABLED and the credentials
    (TENCENTCLOUD_SECRET_ID/_SECRET_KEY/_SESSION_TOKEN); ``secrets`` lists the values to mask.
    """
    if not isinstance(ctx, TencentContext) or ctx.client is None or ctx.access is None:
        return None
    ssh = ctx.ssh
    private = bool(
        ssh and ctx.instance is not None and ssh.host in (ctx.instance.PrivateIpAddresses or [])
    )
    named_by_tag = bool(host_alias) and host_alias == ctx.host_alias
    if named_by_tag:
        # The host is called host_alias, as in the local builder's (and Packer's) inventory;
        # a group of the same name would clash with it.
        groups = [g for g in groups if g != host_alias]
    doc = render_inventory(
        region=ctx.region,
        build_id=ctx.build_id,
        endpoint=ctx.access.cvm_endpoint,
        groups=groups,
        user=user or (ssh.user if ssh else "root"),
        port=ssh.port if ssh else 22,
        private_key_file=ssh.private_key_path if ssh else None,
        private_address=private,
        instance_id=ctx.instance_id,
        named_by_tag=named_by_tag,
    )
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "build.bake_cvm.yml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    creds = ctx.api.credentials
    env = {
        "ANSIBLE_INVENTORY_PLUGINS": str(plugin_dir(ctx.project_dir)),
        "ANSIBLE_INVENTORY_ENABLED": "bake_cvm,host_list,script,auto,yaml,ini",
        "TENCENTCLOUD_SECRET_ID": creds.secret_id,
        "TENCENTCLOUD_SECRET_KEY": creds.secret_key,
    }
    if creds.token:
        env["TENCENTCLOUD_SESSION_TOKEN"] = creds.token
    secrets = tuple(s for s in (creds.secret_key, creds.token) if s)
    return BuildInventory(path, env, secrets)


class CvmInventory:
    """The Tencent builder's ``InventorySource``: ``write_build_inventory``."""

    def write_inventory(
        self,
        ctx: BuildContext,
        directory: Path,
        *,
        groups: Sequence[str],
        user: str | None,
        host_alias: str = "",
    ) -> BuildInventory | None:
        return write_build_inventory(
            ctx, directory, groups=groups, user=user, host_alias=host_alias
        )
