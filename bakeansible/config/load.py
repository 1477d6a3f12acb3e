"""Loading a template (native ``bake.yml`` or a Packer JSON template) into a resolved ``Template``.

One pass, no side effects: parse with positions → declare and resolve variables → read builds,
provisioners and post-processors → select builds with ``-only``/``-except`` → per build,
interpolate (``{{build_name}}`` differs per build) and decode options into their dataclasses.
Every problem is collected and raised together as one ``ConfigError``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from bakeansible.config import types as config_types
from bakeansible.config.decode import decode, describe_value, suggest
from bakeansible.config.durations import parse_duration
from bakeansible.config.interpolate import Context, InterpolationError, render, render_tree
from bakeansible.config.model import (
    BuildSpec,
    PostProcessorSpec,
    ProvisionerSpec,
    Template,
    Variable,
)
from bakeansible.config.positions import Document, Positions, child_path, load_document
from bakeansible.config.selection import matches, select_names
from bakeansible.config.sensitivity import flowing_into_secrets, mark_sensitive, secret_values
from bakeansible.config.variables.declare import declare_bake_variables, declare_packer_variables
from bakeansible.config.variables.resolve import resolve_variables
from bakeansible.errors import ConfigError, ConfigIssue
from bakeansible.secrets import Masker

PACKER_KEYS = (
    "description",
    "variables",
    "sensitive-variables",
    "builders",
    "provisioners",
    "post-processors",
    "min_packer_version",
)
BAKE_KEYS = ("description", "variables", "builds", "provisioners", "post_processors")
PROVISIONER_COMMON = ("type", "name", "only", "except", "pause_before", "timeout", "max_retries")
PROVISIONER_KEYS = (*PROVISIONER_COMMON, "override")
POST_PROCESSOR_COMMON = ("type", "name", "only", "except")


def detect_format(doc: Document) -> str:
    """``"packer"`` for a Packer JSON template, ``"bake"`` for the native format."""
    data = doc.data if isinstance(doc.data, Mapping) else {}
    if "builds" in data or "post_processors" in data:
        return "bake"
    if any(k in data for k in ("builders", "post-processors", "sensitive-variables")):
        return "packer"
    return "packer" if doc.format == "json" else "bake"


@dataclass
class _Raw:
    """A build, provisioner or post-processor as written, before per-build decoding."""

    type: str
    path: str
    options: dict[str, Any]
    name: str = ""
    only: tuple[str, ...] = ()
    except_: tuple[str, ...] = ()
    pause_before: float = 0.0
    timeout: float = 0.0
    max_retries: int = 0
    override: dict[str, Any] = field(default_factory=dict)
    own: list[_Raw] = field(default_factory=list)  # a bake.yml build's own provisioners
    own_post: list[_Raw] = field(default_factory=list)


class _Loader:
    def __init__(
        self,
        doc: Document,
        env: Mapping[str, str],
        now: datetime | None,
        check_environment: bool = False,
    ) -> None:
        self.doc = doc
        self.check_environment = check_environment
        self.warnings: list[str] = []
        self.file = str(doc.path)
        self.positions: Positions = doc.positions
        self.env = env
        self.kind = detect_format(doc)
        self.issues: list[ConfigIssue] = []
        self.notes: list[str] = []
        ctx = Context(
            template_dir=str(doc.path.resolve().parent),
            env=env,
            strict=self.kind == "packer",
        )
        self.ctx = ctx if now is None else replace(ctx, now=now)

    # --- helpers -----------------------------------------------------------------------------

    def issue(self, path: str, message: str, *, key: bool = False) -> None:
        pos = self.positions.key(path) if key else self.positions.value(path)
        line, col = pos if pos else (None, None)
        self.issues.append(ConfigIssue(self.file, path, message, line, col))

    def check_keys(self, data: Mapping[str, Any], path: str, allowed: Sequence[str]) -> None:
        for key in data:
            if str(key).startswith("_") and self.kind == "packer" and not path:
                continue  # Packer's way of commenting a template: "_comment" root keys
            if key not in allowed:
                self.issue(
                    child_path(path, str(key)),
                    f"unknown key `{key}`{suggest(str(key), allowed)}",
                    key=True,
                )

    def string_list(self, value: Any, path: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.issue(path, f"expected a list of build names, got {describe_value(value)}")
        return ()

    # --- the whole template ------------------------------------------------------------------

    def load(
        self,
        var_args: Sequence[str],
        var_files: Sequence[Path],
        only: Sequence[str],
        except_: Sequence[str],
    ) -> Template:
        data = self.doc.data
        if not isinstance(data, Mapping):
            self.issue("", f"a template must be a mapping at the top, got {describe_value(data)}")
            raise ConfigError(self.issues)
        packer = self.kind == "packer"
        self.check_keys(data, "", PACKER_KEYS if packer else BAKE_KEYS)
        if packer and "min_packer_version" in data:
            self.notes.append(
                f"min_packer_version {data['min_packer_version']!r} is ignored: this is bake"
            )
        if packer:
            decls, issues = declare_packer_variables(
                data.get("variables"),
                data.get("sensitive-variables"),
                file=self.file,
                positions=self.positions,
            )
        else:
            decls, issues = declare_bake_variables(
                data.get("variables"), file=self.file, positions=self.positions
            )
        self.issues += issues
        variables, issues, notes = resolve_variables(
            decls,
            var_files=var_files,
            var_args=var_args,
            env=self.env,
            ctx=self.ctx,
            file=self.file,
            positions=self.positions,
        )
        self.issues += issues
        self.notes += notes
        self.ctx = replace(self.ctx, variables={n: v.value for n, v in variables.items()})

        builds = self.read_builds(data.get("builders" if packer else "builds"), packer)
        provisioners = self.read_provisioners(data.get("provisioners"), "provisioners")
        post_key = "post-processors" if packer else "post_processors"
        post = self.read_post_processors(data.get(post_key), post_key)
        secrets = self.secret_values(builds, provisioners, post)
        variables = mark_sensitive(variables, flowing_into_secrets(secrets, variables, self.ctx))
        names = [b.name for b in builds]
        for raw in provisioners + post:
            self.check_build_refs(raw, names)
        for build in builds:
            for raw in build.own + build.own_post:
                self.check_build_refs(raw, names)

        selected = self.select(builds, only, except_)
        specs = tuple(self.build_spec(b, provisioners, post) for b in selected)
        template_provisioners = tuple(
            spec for raw in provisioners if (spec := self.provisioner_spec(raw, self.ctx))
        )
        template_post = tuple(
            pp for raw in post if (pp := self.post_processor_spec(raw, self.ctx))
        )
        if self.issues:
            literal = [s for s in secrets if isinstance(s, str) and "{{" not in s]
            raise ConfigError(mask_issues(sort_issues(self.issues), variables.values(), literal))
        return Template(
            path=self.doc.path,
            variables=variables,
            builds=specs,
            provisioners=template_provisioners,
            post_processors=template_post,
            notes=tuple(dict.fromkeys(self.notes)),
            warnings=tuple(dict.fromkeys(self.warnings)),
            source_format=self.kind,
        )

    def secret_values(
        self, builds: Sequence[_Raw], provisioners: Sequence[_Raw], post: Sequence[_Raw]
    ) -> list[Any]:
        """The raw values of every option marked secret, in builds, provisioners (with their
        overrides) and post-processors."""
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
            found += self.secret_values([], build.own, build.own_post)
        return found

    # --- reading the lists -------------------------------------------------------------------

    def read_builds(self, value: Any, packer: bool) -> list[_Raw]:
        key = "builders" if packer else "builds"
        if value is None:
            self.issue("", f"the template has no `{key}`; define at least one build")
            return []
        if isinstance(value, Mapping) and not packer:
            # bake.yml also accepts `builds: {name: {type: ..., ...}}`.
            items = [
                (child_path(key, str(name)), {"name": name, **(opts or {})})
                if isinstance(opts, Mapping | None)
                else (child_path(key, str(name)), opts)
                for name, opts in value.items()
            ]
        elif isinstance(value, list):
            items = [(child_path(key, i), item) for i, item in enumerate(value)]
        else:
            self.issue(key, f"expected a list of builds, got {describe_value(value)}")
            return []
        if not items:
            self.issue(key, "define at least one build")
        builds: list[_Raw] = []
        seen: dict[str, str] = {}
        for path, item in items:
            raw = self.read_entry(item, path, "builder", config_types.builder_type_names())
            if raw is None:
                continue
            name = item.get("name", raw.type)
            if not isinstance(name, str) or not name:
                self.issue(
                    child_path(path, "name"), f"expected a string, got {describe_value(name)}"
                )
                continue
            try:
                name = render(name, self.ctx)
            except InterpolationError as exc:
                self.issue(child_path(path, "name"), str(exc))
            raw.name = name
            if name in seen:
                self.issue(
                    path,
                    f"duplicate build name `{name}` (also {seen[name]}); give each build a "
                    "unique `name`",
                )
                continue
            seen[name] = path
            if not packer:
                raw.own = self.read_provisioners(
                    raw.options.pop("provisioners", None), child_path(path, "provisioners")
                )
                raw.own_post = self.read_post_processors(
                    raw.options.pop("post_processors", None), child_path(path, "post_processors")
                )
            raw.options.pop("name", None)
            builds.append(raw)
        return builds

    def read_entry(self, item: Any, path: str, what: str, known: Sequence[str]) -> _Raw | None:
        if not isinstance(item, Mapping):
            self.issue(path, f"expected a mapping with a `type`, got {describe_value(item)}")
            return None
        type_name = item.get("type")
        if type_name is None:
            self.issue(path, f"missing required key `type` (one of {', '.join(known)})")
            return None
        if not isinstance(type_name, str) or type_name not in known:
            shown = f"`{type_name}`" if isinstance(type_name, str) else describe_value(type_name)
            module = config_types.missing_module(what, str(type_name))
            if module:
                self.issue(
                    child_path(path, "type"),
                    f"{what} type {shown} is not available here ({module} cannot be imported)",
                )
                return None
            self.issue(
                child_path(path, "type"),
                f"unknown {what} type {shown}"
                f"{suggest(str(type_name), known)} (known: {', '.join(known)})",
            )
            return None
        options = {k: v for k, v in item.items() if k != "type" and not str(k).startswith("_")}
        return _Raw(type=type_name, path=path, options=options)

    def read_common(self, raw: _Raw) -> None:
        opts = raw.options
        if "name" in opts:
            if isinstance(opts["name"], str):
                raw.name = opts.pop("name")
            else:
                self.issue(child_path(raw.path, "name"), "expected a string")
                opts.pop("name")
        if "only" in opts:
            raw.only = self.string_list(opts.pop("only"), child_path(raw.path, "only"))
        if "except" in opts:
            raw.except_ = self.string_list(opts.pop("except"), child_path(raw.path, "except"))

    def read_provisioners(self, value: Any, path: str) -> list[_Raw]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.issue(path, f"expected a list of provisioners, got {describe_value(value)}")
            return []
        result = []
        known = config_types.provisioner_type_names()
        for i, item in enumerate(value):
            raw = self.read_entry(item, child_path(path, i), "provisioner", known)
            if raw is None:
                continue
            self.read_common(raw)
            opts = raw.options
            for key in ("pause_before", "timeout"):
                if key in opts:
                    try:
                        setattr(raw, key, parse_duration(opts.pop(key)))
                    except ValueError as exc:
                        self.issue(child_path(raw.path, key), str(exc))
            if "max_retries" in opts:
                retries = opts.pop("max_retries")
                if isinstance(retries, str) and retries.strip().isdigit():
                    retries = int(retries)
                if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
                    self.issue(
                        child_path(raw.path, "max_retries"),
                        f"expected a non-negative integer, got {describe_value(retries)}",
                    )
                else:
                    raw.max_retries = retries
            if "override" in opts:
                override = opts.pop("override")
                if isinstance(override, Mapping) and all(
                    isinstance(v, Mapping) for v in override.values()
                ):
                    raw.override = dict(override)
                else:
                    self.issue(
                        child_path(raw.path, "override"),
                        "expected a mapping of build names to option mappings",
                    )
            result.append(raw)
        return result

    def read_post_processors(self, value: Any, path: str) -> list[_Raw]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.issue(path, f"expected a list of post-processors, got {describe_value(value)}")
            return []
        known = config_types.post_processor_type_names()
        result = []
        for i, item in enumerate(value):
            at = child_path(path, i)
            # Packer: a string is a bare type, a list is a chain (run in order for us).
            entries = item if isinstance(item, list) else [item]
            for j, entry in enumerate(entries):
                sub = child_path(at, j) if isinstance(item, list) else at
                if isinstance(entry, str):
                    entry = {"type": entry}
                raw = self.read_entry(entry, sub, "post-processor", known)
                if raw is None:
                    continue
                self.read_common(raw)
                result.append(raw)
        return result

    def check_build_refs(self, raw: _Raw, names: Sequence[str]) -> None:
        for key, patterns in (("only", raw.only), ("except", raw.except_)):
            for i, pattern in enumerate(patterns):
                if not any(fnmatchcase(n, pattern) for n in names):
                    self.issue(
                        child_path(child_path(raw.path, key), i),
                        f"`{pattern}` matches no build{suggest(pattern, names)} "
                        f"(builds: {', '.join(names) or 'none'})",
                    )
        for name in raw.override:
            if name not in names:
                self.issue(
                    child_path(child_path(raw.path, "override"), name),
                    f"`{name}` is not a build{suggest(name, names)}",
                    key=True,
                )

    # --- selecting and decoding --------------------------------------------------------------

    def select(self, builds: list[_Raw], only: Sequence[str], except_: Sequence[str]) -> list[_Raw]:
        names, issue = select_names([b.name for b in builds], only, except_)
        if issue:
            self.issues.append(issue)
        return [b for b in builds if b.name in names]

    def decode_options(self, cls: type, options: Mapping[str, Any], path: str, ctx: Context) -> Any:
        rendered, issues = render_tree(
            dict(options), ctx, file=self.file, path=path, positions=self.positions
        )
        self.issues += issues
        if issues:
            return None
        instance, issues = decode(
            cls, rendered, file=self.file, path=path, positions=self.positions
        )
        self.issues += issues
        return instance

    def build_spec(self, raw: _Raw, provisioners: list[_Raw], post: list[_Raw]) -> BuildSpec:
        ctx = self.ctx.for_build(raw.name, raw.type)
        cls = config_types.builder_config_class(raw.type)
        config = self.decode_options(cls, raw.options, raw.path, ctx) if cls else None
        if self.check_environment and config is not None:
            self.check_build_environment(raw, config)
        chosen = [p for p in provisioners if matches(raw.name, p.only, p.except_)] + raw.own
        provs = tuple(spec for p in chosen if (spec := self.provisioner_spec(p, ctx, raw.name)))
        chosen_post = [p for p in post if matches(raw.name, p.only, p.except_)] + raw.own_post
        posts = tuple(pp for p in chosen_post if (pp := self.post_processor_spec(p, ctx)))
        return BuildSpec(raw.name, raw.type, config, provs, posts, self.file, raw.path)

    def check_build_environment(self, raw: _Raw, config: Any) -> None:
        """What the build resolves from outside the template (credentials, region...), for
        ``bake validate``: the builder config's ``environment_issues``, when it has one."""
        check = getattr(config, "environment_issues", None)
        if check is None:
            return
        problems, warnings = check(self.env)
        for name, message in problems:
            path = child_path(raw.path, name)
            pos = self.positions.value(path) or self.positions.value(raw.path)
            line, col = pos if pos else (None, None)
            self.issues.append(ConfigIssue(self.file, path, message, line, col))
        self.warnings += [f"{raw.name}: {w}" for w in warnings]

    def provisioner_spec(
        self, raw: _Raw, ctx: Context, build: str | None = None
    ) -> ProvisionerSpec | None:
        cls = config_types.provisioner_config_class(raw.type)
        if cls is None:
            return None
        options = dict(raw.options)
        if build is not None and build in raw.override:
            options.update(raw.override[build])
        config = self.decode_options(cls, options, raw.path, ctx)
        if config is None:
            return None
        if getattr(config, "use_proxy", None) is not None:
            self.notes.append(f"{raw.path}: use_proxy is ignored: bake always connects directly")
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

    def post_processor_spec(self, raw: _Raw, ctx: Context) -> PostProcessorSpec | None:
        cls = config_types.post_processor_config_class(raw.type)
        if cls is None:
            return None
        config = self.decode_options(cls, raw.options, raw.path, ctx)
        if config is None:
            return None
        return PostProcessorSpec(raw.type, asdict(config), raw.only, raw.except_)


def mask_issues(
    issues: Sequence[ConfigIssue], variables: Iterable[Variable], secrets: Iterable[str] = ()
) -> list[ConfigIssue]:
    """Issues with the values of sensitive variables (and ``secrets``) replaced by
    ``<sensitive>``."""
    masker = Masker()
    for secret in secrets:
        masker.add(secret)
    for var in variables:
        if var.sensitive and var.value is not None:
            masker.add(str(var.value))
    return [replace(i, message=masker.mask(i.message)) for i in issues]


def sort_issues(issues: Sequence[ConfigIssue]) -> list[ConfigIssue]:
    """Issues without duplicates, by file, then line and column (those without a line last)."""
    unique = list(dict.fromkeys(issues))
    return sorted(unique, key=lambda i: (i.file, i.line is None, i.line or 0, i.column or 0))


def load_template(
    path: Path,
    *,
    var_args: Sequence[str] = (),
    var_files: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    only: Sequence[str] = (),
    except_: Sequence[str] = (),
    now: datetime | None = None,
    check_environment: bool = False,
) -> Template:
    """Read, validate and resolve the template at ``path``; raise ``ConfigError`` listing every
    problem. ``now`` fixes ``{{timestamp}}``/``{{isotime}}`` (default: the current time).
    ``check_environment`` (``bake validate``) also resolves what each build takes from outside
    the template, credentials and region, as the build's preflight does (no network call)."""
    doc = load_document(Path(path))
    loader = _Loader(doc, dict(os.environ) if env is None else env, now, check_environment)
    return loader.load(var_args, var_files, only, except_)


def check_syntax(path: Path) -> Document:
    """``validate -syntax-only``: the file parses and has the shape of a template."""
    doc = load_document(Path(path))
    if not isinstance(doc.data, Mapping):
        raise ConfigError(
            [
                ConfigIssue(
                    str(path),
                    "",
                    f"a template must be a mapping at the top, got {describe_value(doc.data)}",
                    1,
                    1,
                )
            ]
        )
    return doc
