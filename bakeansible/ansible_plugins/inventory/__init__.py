"""Ansible inventory plugins (``bake_cvm``); Ansible loads each file here by its path."""
