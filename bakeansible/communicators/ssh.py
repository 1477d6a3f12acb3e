"""SSH to the instance with paramiko: wait until it answers, run commands, upload files."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import paramiko

from bakeansible.errors import BakeError, BuildCancelled, WaitTimeout
from bakeansible.pipeline.context import BuildContext, SshTarget

log = logging.getLogger(__name__)


def _load_key(path: Path) -> paramiko.PKey:
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key_file(str(path))
        except paramiko.SSHException:
            continue
    raise BakeError(f"Could not read the SSH private key {path}.")


class SshCommunicator:
    """One SSH connection to the instance."""

    def __init__(self, target: SshTarget, *, connect_timeout: float = 10.0) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self._client: paramiko.SSHClient | None = None

    def connect(self) -> SshCommunicator:
        client = paramiko.SSHClient()
        # The instance is ours and brand new: its host key cannot be known in advance.
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        path = self.target.private_key_path
        pkey = _load_key(path) if path and not self.target.use_agent else None
        client.connect(
            self.target.host,
            port=self.target.port,
            username=self.target.user,
            pkey=pkey,
            password=self.target.password,
            timeout=self.connect_timeout,
            banner_timeout=self.connect_timeout,
            auth_timeout=self.connect_timeout,
            allow_agent=self.target.use_agent,
            look_for_keys=False,
        )
        self._client = client
        return self

    def __enter__(self) -> SshCommunicator:
        return self if self._client else self.connect()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> paramiko.SSHClient:
        if self._client is None:
            self.connect()
        assert self._client is not None
        return self._client

    def run(
        self,
        command: str,
        *,
        on_line: Callable[[str], None] | None = None,
        cancel: Callable[[], bool] | None = None,
        timeout: float = 0.0,
    ) -> int:
        """Run ``command``; stream stdout+stderr line by line; return the exit status."""
        transport = self.client.get_transport()
        if transport is None:
            raise BakeError("The SSH connection to the instance was lost.")
        chan = transport.open_session()
        chan.set_combine_stderr(True)
        chan.exec_command(command)
        buf = b""
        deadline = time.monotonic() + timeout if timeout else None
        try:
            while True:
                if cancel is not None and cancel():
                    raise BuildCancelled("interrupted")
                if deadline is not None and time.monotonic() > deadline:
                    raise WaitTimeout(f"remote command {command[:60]!r}", timeout, "running")
                if chan.recv_ready():
                    buf += chan.recv(65536)
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        if on_line:
                            on_line(line.decode(errors="replace").rstrip("\r"))
                    continue
                if chan.exit_status_ready() and not chan.recv_ready():
                    break
                time.sleep(0.05)
            if buf and on_line:
                on_line(buf.decode(errors="replace"))
            return chan.recv_exit_status()
        finally:
            chan.close()

    def upload(self, local: Path, remote: str, mode: int = 0o644) -> None:
        sftp = self.client.open_sftp()
        try:
            sftp.put(str(local), remote)
            sftp.chmod(remote, mode)
        finally:
            sftp.close()

    def upload_text(self, text: str, remote: str, mode: int = 0o644) -> None:
        sftp = self.client.open_sftp()
        try:
            with sftp.open(remote, "w") as fh:
                fh.write(text)
            sftp.chmod(remote, mode)
        finally:
            sftp.close()


def wait_for_ssh(ctx: BuildContext, target: SshTarget, timeout: float) -> SshCommunicator:
    """Try to log in until it works or ``timeout`` passes; cancellable."""
    deadline = time.monotonic() + timeout
    last = "no attempt yet"
    while True:
        ctx.check_cancelled()
        try:
            comm = SshCommunicator(target, connect_timeout=5).connect()
        except paramiko.AuthenticationException as exc:
            last = f"authentication failed: {exc}"
        except (TimeoutError, OSError, paramiko.SSHException, EOFError) as exc:
            last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        else:
            return comm
        log.debug("SSH to %s:%s not ready: %s", target.host, target.port, last)
        if time.monotonic() >= deadline:
            hint = "Check that sshd starts in the image and that the key or password is right."
            if last.startswith("TimeoutError"):
                # Unanswered, not refused: something on the way drops the packets.
                hint = (
                    f"The connection timed out: a firewall or security group drops it. Check "
                    f"that TCP {target.port} is allowed from this machine."
                )
            raise WaitTimeout(
                f"SSH on {target.user}@{target.host}:{target.port}", timeout, last, hint=hint
            )
        ctx.sleep(0.5)
