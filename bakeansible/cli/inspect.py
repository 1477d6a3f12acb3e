"""``bake inspect [TEMPLATE]``: what a template declares, with sensitive values masked."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bakeansible.cli.options import run_cli, selection_options, template_argument, variable_options
from bakeansible.config.model import Template
from bakeansible.secrets import MASK


def _controls(only: tuple[str, ...], except_: tuple[str, ...]) -> str:
    parts = []
    if only:
        parts.append("only: " + ", ".join(only))
    if except_:
        parts.append("except: " + ", ".join(except_))
    return f" ({'; '.join(parts)})" if parts else ""


def describe(template: Template) -> list[str]:
    """The lines ``inspect`` prints."""
    lines = [f"Template: {template.path} ({template.source_format})", "", "Variables:"]
    if not template.variables:
        lines.append("  <none>")
    for var in template.variables.values():
        # As Packer does: a value computed from the default ({{env `X`}}) shows as written.
        expression = var.expression()
        if expression is not None:
            shown = json.dumps(expression)
        elif var.sensitive:
            shown = MASK
        else:
            shown = json.dumps(var.value)
        sensitive = f"sensitive: {var.sensitive_reason}" if var.sensitive_reason else "sensitive"
        flags = [f for f, on in (("required", var.required), (sensitive, var.sensitive)) if on]
        extra = f"  [{', '.join(flags)}]" if flags else ""
        desc = f"  # {var.description}" if var.description else ""
        lines.append(f"  {var.name} = {shown}{extra}{desc}")
    lines += ["", "Builds:"]
    for build in template.builds:
        lines.append(f"  {build.name} ({build.type})")
        for prov in build.provisioners:
            label = f" {prov.name}" if prov.name else ""
            lines.append(f"    provisioner: {prov.type}{label}")
        for post in build.post_processors:
            lines.append(f"    post-processor: {post.type}")
        for test in build.tests:
            label = f" {test.provisioner.name}" if test.provisioner.name else ""
            lines.append(
                f"    test: {test.provisioner.type}{label} "
                f"(on_test_failure: {test.on_test_failure})"
            )
    lines += ["", "Provisioners:"]
    if not template.provisioners:
        lines.append("  <none>")
    for prov in template.provisioners:
        label = f" {prov.name}" if prov.name else ""
        timing = []
        if prov.pause_before:
            timing.append(f"pause_before {prov.pause_before:g}s")
        if prov.timeout:
            timing.append(f"timeout {prov.timeout:g}s")
        if prov.max_retries:
            timing.append(f"max_retries {prov.max_retries}")
        timing_text = f" [{', '.join(timing)}]" if timing else ""
        lines.append(f"  {prov.type}{label}{_controls(prov.only, prov.except_)}{timing_text}")
    lines += ["", "Post-processors:"]
    if not template.post_processors:
        lines.append("  <none>")
    for post in template.post_processors:
        lines.append(f"  {post.type}{_controls(post.only, post.except_)}")
    if template.notes:
        lines += ["", "Notes:", *(f"  {note}" for note in template.notes)]
    return lines


@click.command("inspect")
@template_argument
@variable_options
@selection_options
@run_cli
def command(
    template: Path,
    var_args: tuple[str, ...],
    var_files: tuple[Path, ...],
    only: tuple[str, ...],
    except_: tuple[str, ...],
) -> None:
    """Show TEMPLATE's variables (sensitive ones masked), builds, provisioners, post-processors."""
    from bakeansible.config.load import load_template
    from bakeansible.secrets import process_masker

    loaded = load_template(
        template, var_args=var_args, var_files=var_files, only=only, except_=except_
    )
    masker = process_masker()
    for secret in loaded.sensitive_values():
        masker.add(secret)
    for line in describe(loaded):
        click.echo(masker.mask(line))
