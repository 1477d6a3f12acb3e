"""Template variables, one module per job: ``declare`` reads a template's ``variables`` block,
``files`` reads ``-var-file`` and ``-var`` values, ``resolve`` picks each variable's value by
precedence and evaluates defaults."""
