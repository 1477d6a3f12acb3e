"""The login of the temporary instance: a temporary key pair, or the user's key or password."""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import partial
from pathlib import Path

from bakeansible.builders.tencentcloud.context import TencentContext
from bakeansible.builders.tencentcloud.resources import delete_key_pair
from bakeansible.builders.tencentcloud.steps.common import (
    cleaning,
    create,
    delete_or_report,
    delete_when_released,
)
from bakeansible.pipeline.step import Outcome, Step


class StepConfigKeyPair(Step[TencentContext]):
    """Writes ``ctx.key_id`` and ``ctx.private_key_path``.

    With ``ssh_private_key_file`` (and optionally ``ssh_keypair_name``, an existing skey-...) or
    ``ssh_password``, or ``ssh_agent_auth`` (the key is in the agent, the key pair or the source
    image), nothing is created. Otherwise a temporary key pair is created, tagged, and
    its private key written 0600 into a 0700 directory (``ctx.key_dir`` when set, else a new
    temporary one); both are removed at cleanup. Unlike
    Packer, cleanup never calls DeleteKeyPairs for a key it did not create.
    """

    def __init__(
        self,
        temporary_name: str,
        keypair_id: str,
        private_key_file: str,
        password: str,
        agent: bool = False,
    ) -> None:
        self.temporary_name = temporary_name
        self.keypair_id = keypair_id
        self.private_key_file = private_key_file
        self.password = password
        # ssh_agent_auth without a key pair: the agent's key is already in the source image.
        self.creates = not (keypair_id or private_key_file or password or agent)
        self.agent = agent
        self.title = (
            f"Trying to create a new keypair: {temporary_name}..."
            if self.creates
            else "Using the configured SSH login..."
        )
        self._rid: int | None = None
        self._dir_rid: int | None = None
        self._dir: Path | None = None

    def run(self, ctx: TencentContext) -> None:
        if not self.creates:
            ctx.key_id = self.keypair_id
            if self.private_key_file and not self.agent:
                ctx.private_key_path = Path(self.private_key_file).expanduser()
            return
        self._rid = ctx.record_intent(
            "tencent.keypair", **ctx.journal_data(name=self.temporary_name)
        )
        resp = create(
            ctx,
            [self._rid],
            "cvm",
            "CreateKeyPair",
            {
                "KeyName": self.temporary_name,
                "ProjectId": 0,
                "TagSpecification": [{"ResourceType": "keypair", "Tags": ctx.tag_list()}],
            },
        )
        key = resp.KeyPair
        ctx.key_id, ctx.key_created = key.KeyId, True
        ctx.record_created(self._rid, key.KeyId)
        ctx.masker.add(key.PrivateKey)
        ctx.masker.add(key.PrivateKey.strip())
        if ctx.key_dir is None:
            self._dir_rid = ctx.record_intent("tencent.key_file")
            self._dir = Path(tempfile.mkdtemp(prefix="bake-cvm-key-"))  # 0700
        else:
            self._dir_rid = ctx.record_intent("tencent.key_file", path=str(ctx.key_dir))
            ctx.key_dir.mkdir(mode=0o700, parents=True)
            self._dir = ctx.key_dir
        ctx.record_created(self._dir_rid, str(self._dir), path=str(self._dir))
        path = self._dir / "id_rsa"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key.PrivateKey if key.PrivateKey.endswith("\n") else key.PrivateKey + "\n")
        ctx.private_key_path = path
        ctx.ui.message(f"Keypair created: {key.KeyId}")

    def cleanup(self, ctx: TencentContext, outcome: Outcome) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            ctx.record_gone(self._dir_rid)
            self._dir = None
        if not ctx.key_created or not ctx.key_id:
            return
        ctx.ui.say(cleaning("keypair", outcome))
        key_id = ctx.key_id
        delete = partial(
            delete_when_released, ctx, "keypair", key_id, partial(delete_key_pair, ctx.api, key_id)
        )
        if delete_or_report(ctx, "keypair", key_id, self._rid, delete):
            ctx.key_created = False
