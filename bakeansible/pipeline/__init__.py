"""The step engine: steps with run and cleanup, a typed build context, a runner, a journal."""
