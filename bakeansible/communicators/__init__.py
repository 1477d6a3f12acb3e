"""Communicators: how bake talks to a running instance (SSH)."""
