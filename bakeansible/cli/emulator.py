"""``bake emulator``: run the local Tencent Cloud emulator until Ctrl-C, then clean up."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from bakeansible.cli.options import run_cli
from bakeansible.errors import BakeError


@click.command("emulator")
@click.option("--port", "-port", type=int, default=8088, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--secret-id", envvar="BAKE_EMULATOR_SECRET_ID", help="SecretId it accepts.")
@click.option("--secret-key", envvar="BAKE_EMULATOR_SECRET_KEY", help="SecretKey it accepts.")
@click.option("--data-dir", type=click.Path(path_type=Path),
              help="Parent directory for instances and images (default: the system temp dir).")
@click.option("--fast/--slow", default=True, show_default=True,
              help="Short state transitions (sub-second) or cloud-like ones (several seconds).")
@click.option("--rate-limit", type=float, default=0, show_default=True,
              help="Requests per second and action it accepts before answering "
              "RequestLimitExceeded, like the real API's per-action limits (0: no limit).")
@run_cli
def command(
    port: int,
    secret_id: str | None,
    secret_key: str | None,
    data_dir: Path | None,
    fast: bool,
    rate_limit: float,
) -> None:
    """Serve cvm and vpc (API 2017-03-12) on loopback, with real local containers as instances.

    Point Tencent Cloud clients at it by endpoint only; everything is removed on exit.
    """
    from bakeansible.testing.tcloud import (
        DEBIAN_12_IMAGE_ID,
        DEFAULT_SECRET_ID,
        DEFAULT_SECRET_KEY,
        SLOW_DELAYS,
        Delays,
        TencentEmulator,
    )

    if os.geteuid() != 0:
        raise BakeError(
            "The emulator's instances are systemd-nspawn containers and need root.",
            hint="Run `sudo bake emulator`.",
        )
    delays = Delays() if fast else SLOW_DELAYS
    sid, skey = secret_id or DEFAULT_SECRET_ID, secret_key or DEFAULT_SECRET_KEY
    show_emulator_log()
    try:
        emu = TencentEmulator(sid, skey, data_dir=data_dir, delays=delays, port=port).start()
    except OSError as exc:
        raise BakeError(
            f"Cannot listen on 127.0.0.1:{port}: {exc.strerror}", hint="Pick another --port."
        ) from None
    emu.cloud.rate_limit = rate_limit
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    click.echo(
        f"Tencent Cloud emulator (cvm, vpc 2017-03-12) listening on {emu.endpoint}\n\n"
        f"  export TENCENTCLOUD_SECRET_ID={sid}\n"
        f"  export TENCENTCLOUD_SECRET_KEY={skey}\n\n"
        "In a template, set both endpoints (any region of the real list works):\n"
        f'  "cvm_endpoint": "{emu.endpoint}", "vpc_endpoint": "{emu.endpoint}"\n'
        f'  "source_image_id": "{DEBIAN_12_IMAGE_ID}"   (Debian 12; the only bootable public '
        "image)\n\n"
        "tencentcloud-sdk-python: HttpProfile(endpoint=\"" + emu.host + '", protocol="http")\n'
        f"tccli: --endpoint {emu.endpoint}\n"
        f"Admin: {emu.endpoint}/_admin/resources, /_admin/calls, /_admin/faults\n\n"
        "Instances answer SSH on their PublicIpAddresses[0] (127.x.y.z:22).\n"
        "Press Ctrl-C to stop; every instance, image and file is removed."
    )
    try:
        stop.wait()
    finally:
        click.echo("Stopping the emulator: destroying instances and images...")
        emu.close()
    if left := emu.leftovers():
        raise BakeError(
            "The emulator stopped but could not remove: " + "; ".join(left),
            hint="Kill the processes, unmount the mounts and delete the directory by hand.",
        )
    click.echo("Emulator stopped; nothing left behind.")


def show_emulator_log() -> None:
    """The emulator's own log (instances booting, waiting for a base, failing) on stderr.

    ``BAKE_LOG=1`` already sends every record to stderr; a second handler would repeat them.
    """
    if os.environ.get("BAKE_LOG"):
        return
    logger = logging.getLogger("bakeansible.testing.tcloud")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
