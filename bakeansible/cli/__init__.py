"""The ``bake`` command line: the only place that prints and exits."""
