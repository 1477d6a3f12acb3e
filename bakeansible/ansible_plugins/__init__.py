"""Ansible plugins shipped with bake, loaded by Ansible from these directories (not imported).

``INVENTORY_PLUGIN_DIR`` holds the ``bake_cvm`` inventory plugin: the directory bake gives
Ansible as ``ANSIBLE_INVENTORY_PLUGINS`` on Tencent builds, and that users can point Ansible at.
"""

from __future__ import annotations

from pathlib import Path

#: Directory of the ``bake_cvm`` inventory plugin, inside the installed package.
INVENTORY_PLUGIN_DIR = Path(__file__).resolve().parent / "inventory"
