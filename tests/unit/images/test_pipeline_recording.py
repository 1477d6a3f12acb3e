"""run_build records the image it made: after a success, and after failed tests that kept it."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from bakeansible.config.model import BuildSpec
from bakeansible.errors import StepError
from bakeansible.images.store import ImageStore
from bakeansible.pipeline.build import PlannedBuild, RunOptions, run_build
from bakeansible.pipeline.context import Artifact, BuildContext
from bakeansible.pipeline.step import Step
from bakeansible.ui import RecordingUi


class ImageStep(Step[BuildContext]):
    """Writes an image file; ``tests`` sets test_result, and "failed" then fails the build
    with ``ctx.keep_image`` set (the image stays, as a kept image whose tests failed)."""

    title = "Creating image..."

    def __init__(self, tests: str | None) -> None:
        self.tests = tests

    def run(self, ctx: BuildContext) -> None:
        ctx.output_dir.mkdir(parents=True, exist_ok=True)
        image = ctx.output_dir / f"{ctx.build_name}.img"
        image.write_bytes(b"image")
        extra = {"test_result": self.tests} if self.tests else {}
        ctx.artifact = Artifact("fake", str(image), "Image", files=[image], checksum="c0",
                                extra=extra)
        if self.tests == "failed":
            ctx.keep_image = "its on_test_failure is keep"  # as the test phase says so
            raise StepError("tests failed")


class BrokenStep(Step[BuildContext]):
    title = "Breaking..."

    def run(self, ctx: BuildContext) -> None:
        raise StepError("broken")


@dataclass
class FakeBuilder:
    output_dir: Path
    steps_: list[Step[BuildContext]]

    def source_identity(self) -> str:
        return "tarball:parentsum"

    def new_context(self, base: BuildContext) -> BuildContext:
        base.output_dir = self.output_dir
        return base

    def steps(self, ctx: BuildContext) -> list[Step[BuildContext]]:
        return self.steps_


def run(store: ImageStore, tmp_path: Path, name: str, *steps: Step[BuildContext]) -> str:
    planned = PlannedBuild(BuildSpec(name, "fake", None), FakeBuilder(tmp_path / "out",
                                                                       list(steps)))
    options = RunOptions(project_dir=tmp_path, images=store)
    result = run_build(planned, options, RecordingUi(), threading.Event())  # type: ignore[arg-type]
    return str(result.error or "ok")


def test_builds_record_their_images(store: ImageStore, tmp_path: Path) -> None:
    from bakeansible.images.records import ImageRecord

    store.add(ImageRecord("p00000000000", "base", "base", "fake", "/x", checksum="parentsum"))
    assert run(store, tmp_path, "web", ImageStep("passed")) == "ok"
    assert run(store, tmp_path, "broken", BrokenStep(), ImageStep(None)) == "broken"
    assert run(store, tmp_path, "tested", ImageStep("failed")) == "tests failed"
    images = {i.build_name: i for i in store.images()}
    assert set(images) == {"base", "web", "tested"}
    web = images["web"]
    assert (web.artifact, web.checksum, web.test_result) == (
        str(tmp_path / "out" / "web.img"), "c0", "passed"
    )
    assert web.parent_id == "p00000000000"
    assert web.fingerprint and web.fingerprint.startswith("sha256:")
    assert images["tested"].test_result == "failed"
    tested = images["tested"].fingerprint
    assert tested and tested.startswith("sha256:"), "a failed-test image has its inputs too"
    assert store.find_hit("tested", tested) is None
