"""The Debian base root filesystem a public image boots from, and what the log says meanwhile.

The first instance of a suite waits for mmdebstrap (about a minute), and an instance whose base
another process is building waits on that build's lock. Either way the instance stays PENDING,
so the emulator's log says why, and again when the base is ready.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from bakeansible.builders.local import rootfs

log = logging.getLogger(__name__)

#: A cached base is found at once; a wait longer than this means another process builds it.
NOTICE_AFTER = 1.0


def debian_base(suite: str, instance_id: str, cancel: threading.Event) -> Path:
    """The cached base for ``suite`` (built on first use), logging any wait for it."""
    started = time.monotonic()
    lock = threading.Lock()
    announced = False

    def announce(why: str) -> None:
        nonlocal announced
        with lock:
            if announced:
                return
            announced = True
        log.info(
            "%s: waiting for the Debian %s base root filesystem to be built (%s)…",
            instance_id,
            suite,
            why,
        )

    def on_progress(message: str) -> None:
        if message.startswith("Building"):
            announce("first use, about a minute")
        else:
            log.debug("%s: %s", instance_id, message)

    timer = threading.Timer(
        NOTICE_AFTER, announce, args=("another process is building it, first use",)
    )
    timer.daemon = True
    timer.start()
    try:
        path = rootfs.ensure_base_rootfs(suite, cancel=cancel, progress=on_progress)
    finally:
        timer.cancel()
    if announced:
        log.info(
            "%s: the Debian %s base root filesystem is ready after %.0fs; booting",
            instance_id,
            suite,
            time.monotonic() - started,
        )
    return path
