"""The steps of a ``tencentcloud-cvm`` build, one module each, in the order they run."""
