"""Artifacts: the manifest of builds and checksum files."""
