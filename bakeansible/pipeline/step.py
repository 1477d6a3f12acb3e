"""The step protocol: ``run`` does one thing, ``cleanup`` undoes what ``run`` created."""

from __future__ import annotations

import enum
from typing import Generic, TypeVar

from bakeansible.pipeline.context import BuildContext

C = TypeVar("C", bound=BuildContext)


class Outcome(enum.Enum):
    """How the build ended, so a cleanup can decide what to keep (the image on success only)."""

    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Step(Generic[C]):
    """One named stage of a build.

    ``run`` reads and writes the context. ``cleanup`` is called for every step whose ``run`` was
    entered, in reverse order, even when ``run`` failed halfway; it must tolerate partial state,
    be safe to repeat and report (not raise) its own failures.
    """

    #: Header printed when the step starts, e.g. "Creating temporary key pair...".
    title: str = ""
    #: The step makes, changes or publishes the build's image (snapshot, create, share, copy,
    #: replace an existing one): the runner skips it in check mode, which makes no image.
    makes_artifact: bool = False

    def run(self, ctx: C) -> None:
        raise NotImplementedError

    def cleanup(self, ctx: C, outcome: Outcome) -> None:  # noqa: B027 - optional hook
        """Undo what ``run`` created. Default: nothing to undo."""
