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

from bakeansible.artifacts.fingerprint import digest_of_parts, fingerprint_inputs
from bakeansible.artifacts.manifest import ManifestPostProcessor, check_manifest
from bakeansible.config.model import BuildSpec, PostProcessorSpec, Template
from bakeansible.errors import BakeError, BuildCancelled
from bakeansible.images.channels import resolve_sources
from bakeansible.images.lineage import check_source_usable
from bakeansible.images.recording import record_image
from bakeansible.images.store import ImageStore
from bakeansible.pipeline.context import Artifact, BuildContext, new_base_context
from bakeansible.pipeline.incremental import Decision, assess, decide
from bakeansible.pipeline.journal import Journal
from bakeansible.pipeline.protocols import Builder, PostProcessor
from bakeansible.pipeline.runner import AskCallback, OnError, PauseCallback, run_steps
from bakeansible.registry import builder_class, post_processor_class
from bakeansible.secrets import Masker
from bakeansible.state import Holder, Lock
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
    # The image registry: channel sources resolve in it, and every image is recorded there.
    images: ImageStore | None = None
    masker: Masker = field(default_factory=Masker)
    run_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def rebuild(self) -> bool:
        """-force or -check: an existing (or up-to-date) image does not stop the build."""
        return self.force or self.check


@dataclass
class PlannedBuild:
    """A build whose builder exists and whose preflight passed, or that is up to date.

    ``decision`` says which (None: not assessed, the build runs)."""

    spec: BuildSpec
    builder: Builder[Any]
    decision: Decision | None = None


@dataclass
class BuildResult:
    """How one build ended."""

    name: str
    builder_type: str
    artifact: Artifact | None = None
    error: BakeError | None = None
    duration: float = 0.0
    up_to_date: bool = False  # an earlier image was reused: nothing was built
    checked: bool = False  # a check-mode build: it succeeds without an artifact

    @property
    def ok(self) -> bool:
        return self.error is None and (self.artifact is not None or self.checked)

    @property
    def cancelled(self) -> bool:
        return isinstance(self.error, BuildCancelled)


def plan_builds(template: Template, options: RunOptions) -> list[PlannedBuild]:
    """Instantiate builders, decide which builds are up to date and run every preflight check
    of the others; no side effect. Raises BakeError."""
    planned = assess_builds(template, options)
    for p in planned:
        if p.decision is None or not p.decision.up_to_date:
            # Check mode writes no image, so one of the same name is no obstacle.
            p.builder.preflight(force=options.rebuild)
            if options.images is not None:
                check_source_usable(options.images, p.spec.name, p.builder.source_identity())
    return planned


def assess_builds(template: Template, options: RunOptions) -> list[PlannedBuild]:
    """Each build with its builder and its decision (up to date or rebuild, and why); reads
    only. This is ``bake plan``; ``plan_builds`` adds the preflight checks."""
    planned = []
    secrets = template.sensitive_values()
    for template_spec in template.builds:
        spec = resolve_sources(template_spec, options.images)
        cls = builder_class(spec.type)
        builder = cls(spec, options.project_dir)
        manifests = _manifest_paths(spec, builder, options.project_dir)
        for manifest in manifests:
            check_manifest(manifest)
        # Check mode always runs: it is about the playbooks, not the image.
        decision = assess(
            builder, spec, options.project_dir, manifests, secrets, options.rebuild, options.images
        )
        planned.append(PlannedBuild(spec, builder, decision))
    if not planned:
        raise BakeError("No builds to run.")
    return planned


def reuse_build(planned: PlannedBuild, options: RunOptions, ui: Ui) -> BuildResult:
    """An up-to-date build: no step runs; the earlier artifact goes to the post-processors."""
    spec, decision = planned.spec, planned.decision
    assert decision is not None and decision.artifact is not None, "only up-to-date builds"
    started = time.monotonic()
    ctx = BuildContext(
        build_id=uuid.uuid4().hex,
        build_name=spec.name,
        builder_type=spec.type,
        ui=ui,
        masker=options.masker,
        project_dir=options.project_dir,
        output_dir=planned.builder.output_dir,
        input_fingerprint=decision.fingerprint,
    )
    artifact = ctx.artifact = decision.artifact
    artifact.extra.update(input_fingerprint=decision.fingerprint, input_parts=decision.parts)
    ui.say(f"up to date: {artifact.description} (inputs unchanged; -force rebuilds)")
    result = BuildResult(spec.name, spec.type, artifact=artifact, up_to_date=True)
    try:
        run_post_processors(spec, ctx, options)
        # An image the registry never saw (found by its cloud tag, or baked before the
        # registry existed) is recorded once; a known one is not recorded again.
        if options.images is not None and options.images.find_by_artifact(
            artifact.artifact_id
        ) is None:
            _record(planned, ctx, options, ctx.build_id)
    except BakeError as exc:
        result.error = exc
    result.duration = time.monotonic() - started
    return result


def run_build(
    planned: PlannedBuild, options: RunOptions, ui: Ui, cancel: threading.Event
) -> BuildResult:
    """Run one build's steps to the end, then its post-processors."""
    spec = planned.spec
    decision = planned.decision
    if decision is not None and decision.up_to_date:
        return reuse_build(planned, options, ui)
    if decision is None:
        digest, parts = fingerprint_inputs(
            spec, options.project_dir, planned.builder.source_identity()
        )
        decision = Decision(digest, parts)
    started = time.monotonic()
    build_id = uuid.uuid4().hex
    base = new_base_context(
        BuildContext,
        spec.name,
        spec.type,
        build_id=build_id,
        ui=ui,
        cancel_event=cancel,
        journal=options.journal,
        masker=options.masker,
        force=options.force,
        check_mode=options.check,
        project_dir=options.project_dir,
        input_fingerprint=decision.fingerprint,
    )
    result = BuildResult(spec.name, spec.type, checked=options.check)
    waited: list[Holder | None] = []
    try:
        image_lock = lock_image(planned, options, build_id, ui, cancel, waited)
    except BuildCancelled as exc:
        result.error = exc
        result.duration = time.monotonic() - started
        return result
    if waited and not options.rebuild and (now := _decide_again(planned, decision, options)):
        # The bake waited for made this very image: reuse it rather than bake it twice.
        if image_lock is not None:
            image_lock.release()
        planned.decision = now
        return reuse_build(planned, options, ui)
    ctx = planned.builder.new_context(base)
    if options.journal is not None:
        try:
            options.journal.start_build(build_id, spec.name, spec.type)
        except BaseException:
            if image_lock is not None:
                image_lock.release()
            raise
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
            _stamp_inputs(ctx.artifact, decision, planned)
        run_post_processors(spec, ctx, options)
        _record(planned, ctx, options, build_id)
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
        if (kept := kept_image(ctx)) is not None:
            result.artifact = kept  # kept after a failed test: say what it is, record it
            try:
                # With its inputs, so a plan of the same inputs names the failed tests.
                _stamp_inputs(kept, decision, planned)
                _record(planned, ctx, options, build_id)
            except BakeError as record_error:  # the build's own error is the one to show
                ctx.ui.error(f"Could not record the image in the registry: {record_error}")
    except Exception as exc:  # a bug: keep the build's failure contained to this build
        log.debug("build %s crashed", spec.name, exc_info=exc)
        result.error = BakeError(f"Internal error: {type(exc).__name__}: {exc}")
    finally:
        if timer is not None:
            timer.cancel()
        ctx.remove_temp_dir()
        try:
            if options.journal is not None:
                options.journal.finish_build(build_id, state)
        finally:
            if image_lock is not None:
                image_lock.release()
        result.duration = time.monotonic() - started
    return result


def _decide_again(
    planned: PlannedBuild, decision: Decision, options: RunOptions
) -> Decision | None:
    """After waiting for another bake of the image: the decision for the same inputs now, if it
    is up to date."""
    spec, builder = planned.spec, planned.builder
    manifests = _manifest_paths(spec, builder, options.project_dir)
    now = decide(
        builder, spec.name, spec.type, decision.fingerprint, decision.parts, manifests,
        options.images,
    )  # fmt: skip
    return now if now.up_to_date else None


def _stamp_inputs(artifact: Artifact, decision: Decision, planned: PlannedBuild) -> None:
    """Put the build's input fingerprint and parts on its image (manifest and registry)."""
    digest, parts = _recorded_inputs(decision, planned.builder.source_identity())
    artifact.extra.setdefault("input_fingerprint", digest)
    artifact.extra.setdefault("input_parts", parts)


def _recorded_inputs(decision: Decision, source_now: str) -> tuple[str, dict[str, str]]:
    """The inputs as planned, with the source as it is now: a Debian base built by this very
    build is only known once it exists (a later plan sees the built one)."""
    if decision.parts.get("source") == source_now:
        return decision.fingerprint, decision.parts
    parts = {**decision.parts, "source": source_now}
    return digest_of_parts(parts), parts


def _record(
    planned: PlannedBuild, ctx: BuildContext, options: RunOptions, build_id: str
) -> None:
    """Put the build's image in the registry (when there is one)."""
    if options.images is None or ctx.artifact is None:
        return
    identity = planned.builder.source_identity()
    record_image(
        options.images, build_id, planned.spec, ctx.artifact, identity, options.project_dir
    )


def kept_image(ctx: BuildContext) -> Artifact | None:
    """The image a failed build keeps on purpose, or None: ``ctx.keep_image`` says why (a
    failed test with on_test_failure: keep; the image step's cleanup reads the same field) and
    the image is still there. It is recorded, as failed by its tests. An image left by
    -on-error=abort is not kept in this sense: ``bake cleanup`` removes it."""
    artifact = ctx.artifact
    if not ctx.keep_image or artifact is None:
        return None
    return artifact if all(f.exists() for f in artifact.files[:1]) else None


def image_key(spec: BuildSpec) -> str:
    """What two builds must not make at once: the same image name of the same builder type."""
    return f"{spec.type}:{getattr(spec.config, 'image_name', '') or spec.name}"


def lock_image(
    planned: PlannedBuild,
    options: RunOptions,
    build_id: str,
    ui: Ui,
    cancel: threading.Event,
    waited: list[Holder | None] | None = None,
) -> Lock | None:
    """Wait until no other build of this image runs on any host sharing the journal's
    database, then hold its lock (before the build's first side effect). ``waited`` receives
    the holders waited for."""
    if options.journal is None:
        return None
    key = image_key(planned.spec)
    waited = [] if waited is None else waited

    def on_wait(holder: Holder | None) -> None:
        waited.append(holder)
        who = holder.describe() if holder else "another bake"
        ui.say(f"Waiting for {who}, which is building image {key} (one at a time)...")

    lock = options.journal.lock_image(
        key, build_id, planned.spec.name, cancel=cancel, on_wait=on_wait
    )
    if waited:
        ui.say(f"Got the lock on image {key}: building it now.")
    return lock


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
