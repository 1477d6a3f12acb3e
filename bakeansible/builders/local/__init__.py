"""The local builder: a systemd-nspawn container on an overlay of a cached Debian root."""
