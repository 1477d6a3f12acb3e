"""What a build does when a step fails (Packer's -on-error), and the -on-error=ask answers.

Kept apart from the runner so that the build context can carry the policy its steps run under:
a phase that runs steps of its own (the test phase) follows the build's choice.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bakeansible.errors import BakeError
    from bakeansible.pipeline.step import Step


class OnError(enum.Enum):
    """What to do when a step fails (Packer's -on-error)."""

    CLEANUP = "cleanup"
    ABORT = "abort"
    ASK = "ask"


class Choice(enum.Enum):
    """An answer to the -on-error=ask prompt."""

    CLEANUP = "c"
    ABORT = "a"
    RETRY = "r"


AskCallback = Callable[["Step[Any]", "BakeError"], Choice]
