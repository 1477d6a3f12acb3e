"""The ``molecule-bake`` molecule driver: molecule scenarios on bake's own instances."""
