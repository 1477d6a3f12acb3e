"""Instances users start and stop themselves (``bake instance``): a local builder's container,
booted by the build's own steps and kept, journaled, after the command exits."""
