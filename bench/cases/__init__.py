"""Benchmark cases: one module each, ``run(quick: bool) -> list[dict]`` (see ``bench``)."""
