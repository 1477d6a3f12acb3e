"""Builders: each turns a config into a flat list of steps that yields an artifact."""
