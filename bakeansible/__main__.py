"""``python -m bakeansible``: the ``bake`` command, for callers that know the Python but not
the script (the molecule driver's playbooks)."""

from bakeansible.cli.main import main

main()
