"""Template -> plan -> builds (in parallel) -> steps -> artifacts.

``plan_builds`` instantiates every builder and runs every preflight check before anything is
created; ``run_builds`` then runs the builds in threads, bounded by ``parallel``, with fail-fast
cancellation, and returns one ``BuildResult`` per build. Nothing here prints.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bakeansible.artifacts.fingerprint import build_fingerprint
from bakeansible.artifacts.manifest import ManifestPostProcessor, check_manifest
from bakeansible.config.model import BuildSpec, PostProcessorSpec, Template
from bakeansible.errors import BakeError, BuildCancelled
from bakeansible.pipeline.context import Artifact, BuildContext
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.protocols import Builder, PostProcessor
from bakeansible.pipeline.runner import AskCallback, OnError, PauseCallback, run_steps
from bakeansible.registry import builder_class, post_processor_class
from bakeansible.secrets import Masker
from bakeansible.ui import Ui

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    """How to run builds (the build command's flags)."""

    on_error: OnError = OnError.CLEANUP
    force: bool = False
    # -check: run the playbooks in check mode with diff and make no image or manifest entry.
    check: bool = False
    parallel: int = 0  # 0 = unlimited
    fail_fast: bool = False
    project_dir: Path = field(default_factory=Path.cwd)
    ask: AskCallback | None = None
    pause: PauseCallback | None = None
    journal: Journal | None = None
    masker: Masker = field(default_factory=Masker)
    run_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class PlannedBuild:
    """A build whose builder exists and whose preflight passed."""

    spec: BuildSpec
    builder: Builder[Any]


@dataclass
class BuildResult:
    """How one build ended."""

    name: str
    builder_type: str
    artifact: Artifact | None = None
    error: BakeError | None = None
    duration: float = 0.0
    #: A check-mode build: it succeeds without an artifact.
    checked: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and (self.artifact is not None or self.checked)

    @property
    def cancelled(self) -> bool:
        return isinstance(self.error, BuildCancelled)


def plan_builds(template: Template, options: RunOptions) -> list[PlannedBuild]:
    """Instantiate builders and run all preflight checks; no side effect. Raises BakeError."""
    planned = []
    for spec in template.builds:
        cls = builder_class(spec.type)
        builder = cls(spec, options.project_dir)
        # Check mode writes no image, so one of the same name is no obstacle.
        builder.preflight(force=options.force or options.check)
        for manifest in _manifest_paths(spec, builder, options.project_dir):
            check_manifest(manifest)
        planned.append(PlannedBuild(spec, builder))
    if not planned:
        raise BakeError("No builds to run.")
    return planned


def run_build(
    planned: PlannedBuild, options: RunOptions, ui: Ui, cancel: threading.Event
) -> BuildResult:
    """Run one build's steps to the end, then its post-processors."""
    spec = planned.spec
    started = time.monotonic()
    build_id = uuid.uuid4().hex
    base = BuildContext(
        build_id=build_id,
        build_name=spec.name,
        builder_type=spec.type,
        ui=ui,
        cancel_event=cancel,
        journal=options.journal,
        masker=options.masker,
        force=options.force,
        check_mode=options.check,
        project_dir=options.project_dir,
    )
    ctx = planned.builder.new_context(base)
    result = BuildResult(spec.name, spec.type, checked=options.check)
    if options.journal is not None:
        options.journal.start_build(build_id, spec.name, spec.type)
    state = "failed"
    limit = float(getattr(spec.config, "max_build_time", 0) or 0)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        ctx.ui.error(f"The build exceeded max_build_time ({limit:.0f}s); cancelling it.")
        cancel.set()

    timer = threading.Timer(limit, expire) if limit > 0 else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        run_steps(planned.builder.steps(ctx), ctx, options.on_error, options.ask, options.pause)
        result.artifact = ctx.artifact
        if options.check:
            assert ctx.artifact is None, "check mode skips every step that makes an artifact"
        if ctx.artifact is not None:
            identity = planned.builder.source_identity()
            ctx.artifact.extra.setdefault(
                "input_fingerprint", build_fingerprint(spec, options.project_dir, identity)
            )
        run_post_processors(spec, ctx, options)
        state = "succeeded"
    except BuildCancelled as exc:
        result.error = exc
        if expired.is_set():
            result.error = BakeError(
                f"Build exceeded max_build_time ({limit:.0f}s) and was cancelled and cleaned up.",
                hint="Raise max_build_time in the build's options if it needs longer.",
            )
        state = "cancelled"
    except BakeError as exc:
        result.error = exc
        state = "aborted" if ctx.kept else "failed"
        if ctx.keep_image and ctx.artifact is not None:
            result.artifact = ctx.artifact  # kept after a failed test: say what it is
    except Exception as exc:  # a bug: keep the build's failure contained to this build
        log.debug("build %s crashed", spec.name, exc_info=exc)
        result.error = BakeError(f"Internal error: {type(exc).__name__}: {exc}")
    finally:
        if timer is not None:
            timer.cancel()
        ctx.remove_temp_dir()
        if options.journal is not None:
            options.journal.finish_build(build_id, state)
        result.duration = time.monotonic() - started
    return result


def run_post_processors(spec: BuildSpec, ctx: BuildContext, options: RunOptions) -> None:
    """Manifest and checksum; a manifest beside the image is always written for local builds."""
    artifact = ctx.artifact
    if artifact is None:
        return
    processors = list(spec.post_processors)
    if not any(p.type == "manifest" for p in processors):
        processors.append(PostProcessorSpec("manifest", {"output": str(_default_manifest(ctx))}))
    for pp in processors:
        processor: PostProcessor = post_processor_class(pp.type)(pp, options.project_dir)
        processor.post_process(ctx, artifact, options.run_uuid)


def _manifest_paths(spec: BuildSpec, builder: Builder[Any], project_dir: Path) -> list[Path]:
    """The manifests the build will append to (as ``run_post_processors`` resolves them)."""
    paths = [
        ManifestPostProcessor(pp, project_dir).output_path()
        for pp in spec.post_processors
        if pp.type == "manifest"
    ]
    return paths or [builder.output_dir / "manifest.json"]


def _default_manifest(ctx: BuildContext) -> Path:
    return ctx.output_dir / "manifest.json"


def run_builds(
    planned: Sequence[PlannedBuild],
    options: RunOptions,
    ui_for: Callable[[str], Ui],
    cancel: threading.Event,
    on_done: Callable[[BuildResult], None] | None = None,
) -> list[BuildResult]:
    """Run the builds in parallel (``options.parallel`` at most; 0 = all at once).

    Each build has its own cancel event, set when ``cancel`` is set or, with fail-fast, when
    another build fails. Returns results in the template's order.
    """
    workers = options.parallel or len(planned) or 1
    events = [threading.Event() for _ in planned]
    results: dict[int, BuildResult] = {}

    def run_one(i: int, ui: Ui) -> BuildResult:
        if cancel.is_set():
            events[i].set()
        result = _guarded_run(planned[i], options, ui, events[i])
        # Fail fast from the worker itself, before it picks up a build queued behind the limit.
        if options.fail_fast and not result.ok and not result.cancelled:
            for ev in events:
                ev.set()
        return result

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="build") as pool:
        futures: dict[Future[BuildResult], int] = {}
        for i, p in enumerate(planned):
            futures[pool.submit(run_one, i, ui_for(p.spec.name))] = i
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if cancel.is_set():  # relay the run's cancellation to every build
                for ev in events:
                    ev.set()
            for fut in done:
                i = futures[fut]
                results[i] = fut.result()
                if on_done:
                    on_done(results[i])
    return [results[i] for i in range(len(planned))]


def _guarded_run(
    planned: PlannedBuild, options: RunOptions, ui: Ui, cancel: threading.Event
) -> BuildResult:
    if cancel.is_set():  # queued behind the parallel limit and cancelled before it started
        return BuildResult(planned.spec.name, planned.spec.type, error=BuildCancelled("cancelled"))
    return run_build(planned, options, ui, cancel)
