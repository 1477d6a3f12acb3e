# Copyright: bakeansible contributors
# MPL-2.0
"""Ansible inventory plugin ``bake_cvm``: Tencent Cloud CVM instances as inventory hosts.

Self-contained on purpose: Ansible loads this file by its path (bake points
``ANSIBLE_INVENTORY_PLUGINS`` at this directory), not as part of the package, so it imports
nothing from bakeansible and needs only ansible-core and tencentcloud-sdk-python. In the style of
amazon.aws.aws_ec2.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

DOCUMENTATION = r"""
name: bake_cvm
short_description: Tencent Cloud CVM instances (bake)
description:
  - Lists CVM instances of one or more Tencent Cloud regions with DescribeInstances, every page.
  - Reads C(*.bake_cvm.yml) / C(*.bake_cvm.yaml) files whose C(plugin) is C(bake_cvm).
  - Host variables are the instance's fields in snake_case (C(instance_id), C(public_ip_addresses),
    C(placement.zone), ...), plus C(tags) as a dict, C(region), C(public_ip_address) and
    C(private_ip_address).
  - Credentials as bake's tencentcloud-cvm builder finds them; the file, the environment, then a
    tccli profile.
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: Marks the file as this plugin's.
    required: true
    choices: ['bake_cvm']
  regions:
    description: Regions to list; empty means TENCENTCLOUD_REGION, the profile's region, or all
      regions DescribeRegions returns.
    type: list
    elements: str
    default: []
  filters:
    description:
      - DescribeInstances filters, name to value or list of values, e.g.
        C(tag:bake:build-id), C(instance-state), C(zone), C(vpc-id), C(instance-name).
      - Filters are ANDed; the values of one filter are ORed.
    type: dict
    default: {}
  include_states:
    description: Keep only instances in these InstanceState values (empty keeps all).
    type: list
    elements: str
    default: ['RUNNING']
  hostnames:
    description:
      - Preference list for the inventory name of each instance; the first non-empty wins.
      - C(public-ip-address), C(private-ip-address), C(instance-id), C(instance-name),
        C(host-name), or C(tag:<key>).
    type: list
    elements: str
    default: ['public-ip-address', 'private-ip-address', 'instance-id']
  endpoint:
    description: API endpoint for cvm, e.g. C(http://127.0.0.1:8080) for bake's emulator.
    type: str
    env:
      - name: TENCENTCLOUD_ENDPOINT
  secret_id:
    description: API SecretId.
    type: str
    env:
      - name: TENCENTCLOUD_SECRET_ID
      - name: TENCENTCLOUD_ACCESS_KEY
  secret_key:
    description: API SecretKey.
    type: str
    env:
      - name: TENCENTCLOUD_SECRET_KEY
  security_token:
    description: STS token.
    type: str
    env:
      - name: TENCENTCLOUD_SESSION_TOKEN
      - name: TENCENTCLOUD_SECURITY_TOKEN
  profile:
    description: tccli profile name.
    type: str
    default: default
    env:
      - name: TENCENTCLOUD_PROFILE
  shared_credentials_dir:
    description: Directory of the tccli profiles.
    type: str
    default: ~/.tccli
    env:
      - name: TENCENTCLOUD_SHARED_CREDENTIALS_DIR
"""

EXAMPLES = r"""
# demo.bake_cvm.yml
plugin: bake_cvm
regions: [ap-guangzhou]
endpoint: http://127.0.0.1:8080
filters:
  "tag:bake:build-id": 0123abcd
hostnames: [public-ip-address, instance-id]
compose:
  ansible_host: public_ip_address | default(private_ip_address)
keyed_groups:
  - key: placement.zone
    prefix: zone
  - key: tags['role'] | default('none')
    prefix: role
groups:
  web: "'web' in instance_name"
"""

RETRYABLE = ("RequestLimitExceeded", "InternalError", "ClientNetworkError", "ServerNetworkError")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake(name: str) -> str:
    """``PublicIpAddresses`` -> ``public_ip_addresses``, ``CPU`` -> ``cpu``."""
    return _CAMEL.sub("_", name).lower()


def snake_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {snake(k): snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snake_keys(v) for v in value]
    return value


def host_vars(instance: dict[str, Any], region: str) -> dict[str, Any]:
    """The host variables of one instance (from DescribeInstances' CamelCase JSON)."""
    hv: dict[str, Any] = snake_keys({k: v for k, v in instance.items() if k != "Tags"})
    hv["tags"] = {t["Key"]: t.get("Value", "") for t in instance.get("Tags") or []}
    hv["region"] = region
    public = instance.get("PublicIpAddresses") or []
    private = instance.get("PrivateIpAddresses") or []
    hv["public_ip_address"] = public[0] if public else None
    hv["private_ip_address"] = private[0] if private else None
    return hv


def pick_hostname(hv: dict[str, Any], preferences: list[str]) -> str | None:
    for pref in preferences:
        if pref.startswith("tag:"):
            value = hv["tags"].get(pref[4:])
        else:
            key = {
                "public-ip-address": "public_ip_address",
                "private-ip-address": "private_ip_address",
                "instance-id": "instance_id",
                "instance-name": "instance_name",
                "host-name": "host_name",
            }.get(pref, pref.replace("-", "_"))
            value = hv.get(key)
        if value:
            return str(value)
    return None


def api_filters(filters: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for name, value in filters.items():
        values = value if isinstance(value, list) else [value]
        out.append({"Name": str(name), "Values": [str(v) for v in values]})
    return out


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):  # type: ignore[misc]
    """Tencent Cloud CVM instances as hosts; Constructable and Cacheable like aws_ec2."""

    NAME = "bake_cvm"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("bake_cvm.yml", "bake_cvm.yaml"))

    def parse(self, inventory: Any, loader: Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = bool(self.get_option("cache"))
        instances = None
        if use_cache and cache:
            try:
                instances = self._cache[cache_key]
            except KeyError:
                instances = None
        if instances is None:
            instances = self._describe_all()
            if use_cache:
                self._cache[cache_key] = instances
        self._populate(instances)

    # -- API ------------------------------------------------------------------------------
    def _credentials(self) -> tuple[str, str, str | None]:
        sid = self.get_option("secret_id") or ""
        skey = self.get_option("secret_key") or ""
        token = self.get_option("security_token") or None
        if not (sid and skey):
            directory = Path(self.get_option("shared_credentials_dir") or "~/.tccli").expanduser()
            path = directory / f"{self.get_option('profile') or 'default'}.credential"
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                data = {}
            sid = sid or data.get("secretId", "")
            skey = skey or data.get("secretKey", "")
            token = token or data.get("token") or None
        if not (sid and skey):
            raise AnsibleError(
                "bake_cvm: no credentials; set secret_id/secret_key, TENCENTCLOUD_SECRET_ID and "
                "TENCENTCLOUD_SECRET_KEY, or a tccli profile"
            )
        return sid, skey, token

    def _client(self, region: str) -> Any:
        from tencentcloud.common import credential
        from tencentcloud.common.profile.client_profile import ClientProfile
        from tencentcloud.common.profile.http_profile import HttpProfile
        from tencentcloud.cvm.v20170312 import cvm_client

        endpoint = self.get_option("endpoint") or ""
        scheme, host = None, endpoint or None
        if "://" in endpoint:
            scheme, _, rest = endpoint.partition("://")
            host = rest.rstrip("/")
        # The scheme must go to the constructor: it is copied into ``scheme`` there.
        http = HttpProfile(protocol=scheme, endpoint=host, reqTimeout=60)
        cred = credential.Credential(*self._credentials())
        return cvm_client.CvmClient(cred, region, ClientProfile(httpProfile=http, language="en-US"))

    def _call(self, client: Any, action: str, params: dict[str, Any]) -> dict[str, Any]:
        from tencentcloud.common.exception.tencent_cloud_sdk_exception import (
            TencentCloudSDKException,
        )
        from tencentcloud.cvm.v20170312 import models

        request = getattr(models, f"{action}Request")()
        request._deserialize(params)
        for attempt in range(1, 7):
            try:
                response = getattr(client, action)(request)
                answer: dict[str, Any] = json.loads(response.to_json_string())
                return answer
            except TencentCloudSDKException as exc:
                code = exc.get_code() or ""
                if attempt < 6 and any(r in code for r in RETRYABLE):
                    time.sleep(min(8.0, 0.5 * 2**attempt) * random.uniform(0.5, 1.0))
                    continue
                raise AnsibleError(
                    f"bake_cvm: {action} failed: {code}: {exc.get_message()} "
                    f"(RequestId {exc.get_request_id()})"
                ) from None
        raise AssertionError("unreachable")

    def _regions(self) -> list[str]:
        regions = list(self.get_option("regions") or [])
        if regions:
            return regions
        if env := os.environ.get("TENCENTCLOUD_REGION"):
            return [env]
        directory = Path(self.get_option("shared_credentials_dir") or "~/.tccli").expanduser()
        try:
            configure = json.loads(
                (directory / f"{self.get_option('profile') or 'default'}.configure").read_text()
            )
            if region := configure.get("_sys_param", {}).get("region"):
                return [region]
        except (OSError, ValueError, AttributeError):
            pass
        answer = self._call(self._client("ap-guangzhou"), "DescribeRegions", {})
        return [r["Region"] for r in answer.get("RegionSet") or []]

    def _describe_all(self) -> list[dict[str, Any]]:
        """Every instance of every region as host variables (JSON-safe, for the cache)."""
        filters = api_filters(self.get_option("filters") or {})
        states = set(self.get_option("include_states") or [])
        found: list[dict[str, Any]] = []
        for region in self._regions():
            client = self._client(region)
            offset = 0
            while True:
                params: dict[str, Any] = {"Offset": offset, "Limit": 100}
                if filters:
                    params["Filters"] = filters
                page = self._call(client, "DescribeInstances", params)
                batch = page.get("InstanceSet") or []
                for inst in batch:
                    if not states or inst.get("InstanceState") in states:
                        found.append(host_vars(inst, region))
                offset += len(batch)
                if not batch or offset >= (page.get("TotalCount") or 0):
                    break
        return found

    # -- inventory ------------------------------------------------------------------------
    def _populate(self, instances: list[dict[str, Any]]) -> None:
        strict = self.get_option("strict")
        preferences = list(self.get_option("hostnames") or [])
        self.inventory.add_group("bake_cvm")
        for hv in instances:
            name = pick_hostname(hv, preferences) or hv.get("instance_id")
            if name in self.inventory.hosts and name != hv.get("instance_id"):
                name = hv.get("instance_id")  # two instances, one address: keep both
            host = self.inventory.add_host(name, group="bake_cvm")
            for key, value in hv.items():
                self.inventory.set_variable(host, key, value)
            self._set_composite_vars(self.get_option("compose"), hv, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hv, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hv, host, strict=strict)
