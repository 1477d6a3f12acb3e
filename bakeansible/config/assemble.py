"""What both template readers share once they have found the parts of a template: resolving the
declared variables, then checking the builds' references, selecting builds (``-only``/``-except``)
and, per build, interpolating (``{{build_name}}`` differs per build) and decoding options into
their dataclasses. Every problem is collected and raised together as one ``ConfigError``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bakeansible.config import types as config_types
from bakeansible.config.decode import decode, describe_value
from bakeansible.config.entries import RawEntry, check_build_refs
from bakeansible.config.interpolate import Context, render_tree
from bakeansible.config.issues import IssueLog, mask_issues, sort_issues
from bakeansible.config.model import (
    BuildSpec,
    PostProcessorSpec,
    ProvisionerSpec,
    Template,
    TestSpec,
    Variable,
)
from bakeansible.config.positions import Document, child_path
from bakeansible.config.selection import matches, select_names
from bakeansible.config.sensitivity import flowing_into_secrets, mark_sensitive, secret_values
from bakeansible.config.variables.declare import VariableDecl
from bakeansible.config.variables.resolve import resolve_variables
from bakeansible.errors import ConfigError, ConfigIssue


@dataclass(frozen=True)
class LoadRequest:
    """What the caller asks besides the file: variable values, the environment, which builds,
    a fixed ``now`` for ``{{timestamp}}``, and whether to check each build's environment."""

    var_args: Sequence[str] = ()
    var_files: Sequence[Path] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    only: Sequence[str] = ()
    except_: Sequence[str] = ()
    now: datetime | None = None
    check_environment: bool = False


class TemplateReading:
    """One template being read: its document and request, the issues so far and the context
    its template functions see (``strict`` for Packer's engine, lax for bake.yml)."""

    def __init__(self, doc: Document, request: LoadRequest, *, strict: bool) -> None:
        self.doc = doc
        self.request = request
        self.log = IssueLog(str(doc.path), doc.positions)
        ctx = Context(template_dir=str(doc.path.resolve().parent), env=request.env, strict=strict)
        self.ctx = ctx if request.now is None else replace(ctx, now=request.now)

    def top(self) -> Mapping[str, Any]:
        """The template's top-level mapping; raises ``ConfigError`` when it is something else."""
        data = self.doc.data
        if not isinstance(data, Mapping):
            self.log.add("", f"a template must be a mapping at the top, got {describe_value(data)}")
            raise ConfigError(self.log.issues)
        return data

    def resolve(
        self, decls: Sequence[VariableDecl], issues: Sequence[ConfigIssue]
    ) -> dict[str, Variable]:
        """The declared variables' values (``issues`` are the declaration's); later template
        functions see them."""
        self.log.issues += issues
        variables, issues, notes = resolve_variables(
            decls,
            var_files=self.request.var_files,
            var_args=self.request.var_args,
            env=self.request.env,
            ctx=self.ctx,
            file=self.log.file,
            positions=self.log.positions,
        )
        self.log.issues += issues
        self.log.notes += notes
        self.ctx = replace(self.ctx, variables={n: v.value for n, v in variables.items()})
        return variables

    def finish(
        self,
        variables: dict[str, Variable],
        builds: list[RawEntry],
        provisioners: list[RawEntry],
        post: list[RawEntry],
        tests: list[RawEntry],
        *,
        source_format: str,
    ) -> Template:
        """The resolved ``Template``, or ``ConfigError`` with every issue found (sorted, with
        secret values masked)."""
        secrets = _secret_values(builds, provisioners + tests, post)
        variables = mark_sensitive(variables, flowing_into_secrets(secrets, variables, self.ctx))
        names = [b.name for b in builds]
        for raw in provisioners + post + tests:
            check_build_refs(self.log, raw, names)
        for build in builds:
            for raw in build.own + build.own_post + build.own_tests:
                check_build_refs(self.log, raw, names)

        selected, issue = select_names(names, self.request.only, self.request.except_)
        if issue:
            self.log.issues.append(issue)
        specs = tuple(
            self._build_spec(b, provisioners, post, tests) for b in builds if b.name in selected
        )
        template_provisioners = tuple(
            spec for raw in provisioners if (spec := self._provisioner_spec(raw, self.ctx))
        )
        template_tests = tuple(
            TestSpec(spec, raw.on_test_failure)
            for raw in tests
            if (spec := self._provisioner_spec(raw, self.ctx))
        )
        template_post = tuple(
            pp for raw in post if (pp := self._post_processor_spec(raw, self.ctx))
        )
        if self.log.issues:
            literal = [s for s in secrets if isinstance(s, str) and "{{" not in s]
            issues = sort_issues(self.log.issues)
            raise ConfigError(mask_issues(issues, variables.values(), literal))
        return Template(
            path=self.doc.path,
            variables=variables,
            builds=specs,
            provisioners=template_provisioners,
            post_processors=template_post,
            tests=template_tests,
            notes=tuple(dict.fromkeys(self.log.notes)),
            warnings=tuple(dict.fromkeys(self.log.warnings)),
            source_format=source_format,
        )

    # --- decoding per build ------------------------------------------------------------------

    def _decode_options(
        self, cls: type, options: Mapping[str, Any], path: str, ctx: Context
    ) -> Any:
        log = self.log
        rendered, issues = render_tree(
            dict(options), ctx, file=log.file, path=path, positions=log.positions
        )
        log.issues += issues
        if issues:
            return None
        instance, issues = decode(cls, rendered, file=log.file, path=path, positions=log.positions)
        log.issues += issues
        return instance

    def _build_spec(
        self,
        raw: RawEntry,
        provisioners: list[RawEntry],
        post: list[RawEntry],
        tests: list[RawEntry],
    ) -> BuildSpec:
        ctx = self.ctx.for_build(raw.name, raw.type)
        cls = config_types.builder_config_class(raw.type)
        config = self._decode_options(cls, raw.options, raw.path, ctx) if cls else None
        if self.request.check_environment and config is not None:
            self._check_build_environment(raw, config)
        chosen = [p for p in provisioners if matches(raw.name, p.only, p.except_)] + raw.own
        provs = tuple(spec for p in chosen if (spec := self._provisioner_spec(p, ctx, raw.name)))
        chosen_post = [p for p in post if matches(raw.name, p.only, p.except_)] + raw.own_post
        posts = tuple(pp for p in chosen_post if (pp := self._post_processor_spec(p, ctx)))
        chosen_tests = [t for t in tests if matches(raw.name, t.only, t.except_)] + raw.own_tests
        checks = tuple(
            TestSpec(spec, t.on_test_failure)
            for t in chosen_tests
            if (spec := self._provisioner_spec(t, ctx, raw.name))
        )
        return BuildSpec(
            raw.name, raw.type, config, provs, posts, self.log.file, raw.path, tests=checks
        )

    def _check_build_environment(self, raw: RawEntry, config: Any) -> None:
        """What the build resolves from outside the template (credentials, region...), for
        ``bake validate``: the builder config's ``environment_issues``, when it has one."""
        check = getattr(config, "environment_issues", None)
        if check is None:
            return
        problems, warnings = check(self.request.env)
        positions = self.log.positions
        for name, message in problems:
            path = child_path(raw.path, name)
            pos = positions.value(path) or positions.value(raw.path)
            line, col = pos if pos else (None, None)
            self.log.issues.append(ConfigIssue(self.log.file, path, message, line, col))
        self.log.warnings += [f"{raw.name}: {w}" for w in warnings]

    def _provisioner_spec(
        self, raw: RawEntry, ctx: Context, build: str | None = None
    ) -> ProvisionerSpec | None:
        cls = config_types.provisioner_config_class(raw.type)
        if cls is None:
            return None
        options = dict(raw.options)
        if build is not None and build in raw.override:
            options.update(raw.override[build])
        config = self._decode_options(cls, options, raw.path, ctx)
        if config is None:
            return None
        if getattr(config, "use_proxy", None) is not None:
            self.log.notes.append(
                f"{raw.path}: use_proxy is ignored: bake always connects directly"
            )
        return ProvisionerSpec(
            type=raw.type,
            config=config,
            name=raw.name,
            only=raw.only,
            except_=raw.except_,
            pause_before=raw.pause_before,
            timeout=raw.timeout,
            max_retries=raw.max_retries,
        )

    def _post_processor_spec(self, raw: RawEntry, ctx: Context) -> PostProcessorSpec | None:
        cls = config_types.post_processor_config_class(raw.type)
        if cls is None:
            return None
        config = self._decode_options(cls, raw.options, raw.path, ctx)
        if config is None:
            return None
        return PostProcessorSpec(raw.type, asdict(config), raw.only, raw.except_)


def _secret_values(
    builds: Sequence[RawEntry], provisioners: Sequence[RawEntry], post: Sequence[RawEntry]
) -> list[Any]:
    """The raw values of every option marked secret, in builds, provisioners (with their
    overrides) and post-processors, and in the builds' own provisioners and post-processors."""
    found: list[Any] = []
    lookups = (
        (builds, config_types.builder_config_class),
        (provisioners, config_types.provisioner_config_class),
        (post, config_types.post_processor_config_class),
    )
    for raws, lookup in lookups:
        for raw in raws:
            cls = lookup(raw.type)
            if cls is None:
                continue
            found += secret_values(cls, raw.options)
            for options in raw.override.values():
                found += secret_values(cls, options)
    for build in builds:
        found += _secret_values([], build.own + build.own_tests, build.own_post)
    return found
