"""Terminal rendering: Packer's machine-readable records, prefixes, colours, masking."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import threading
import time

import pytest

from bakeansible.cli.render import COLOURS, Console, human_duration, machine_escape, machine_record
from bakeansible.secrets import MASK, Masker

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def console(*, secrets: tuple[str, ...] = (), **kw: bool) -> tuple[Console, io.StringIO]:
    masker = Masker()
    for s in secrets:
        masker.add(s)
    out = io.StringIO()
    return Console(masker, stream=out, **kw), out


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("plain", "plain"),
        ("a,b,c", "a%!(PACKER_COMMA)b%!(PACKER_COMMA)c"),
        ("line1\nline2", "line1\\nline2"),
        ("dos\r\nline", "dos\\r\\nline"),
        ("", ""),
        ("%!(PACKER_COMMA)", "%!(PACKER_COMMA)"),
    ],
)
def test_machine_escape(raw: str, escaped: str) -> None:
    assert machine_escape(raw) == escaped


def test_machine_record_fields() -> None:
    line = machine_record("web", "ui", "say", "==> web: a, b\nc", now=1700000000.9)
    assert line == "1700000000,web,ui,say,==> web: a%!(PACKER_COMMA) b\\nc"
    # Splitting on commas gives back exactly timestamp, target, type and the data fields.
    assert line.split(",") == ["1700000000", "web", "ui", "say", "==> web: a%!(PACKER_COMMA) b\\nc"]


def test_machine_record_defaults_to_now() -> None:
    before = int(time.time())
    stamp = int(machine_record("", "version", "0.1.0").split(",")[0])
    assert before <= stamp <= int(time.time())
    assert machine_record("", "version", "0.1.0", now=5) == "5,,version,0.1.0"


def test_build_ui_prefixes_every_line() -> None:
    con, out = console()
    ui = con.ui_for("web")
    ui.say("Creating temporary key pair...")
    ui.message("TASK [nginx : install] ok\nsecond line")
    ui.error("Something failed")
    ui.say("")
    assert out.getvalue().splitlines() == [
        "==> web: Creating temporary key pair...",
        "    web: TASK [nginx : install] ok",
        "    web: second line",
        "==> web: Something failed",
        "==> web: ",
    ]


def test_each_build_gets_its_own_colour() -> None:
    con, _ = console()
    uis = [con.ui_for(f"b{i}") for i in range(len(COLOURS) + 1)]
    assert [u.colour for u in uis[: len(COLOURS)]] == list(COLOURS)
    assert uis[-1].colour == COLOURS[0], "colours cycle"


def test_no_colour_when_not_a_terminal() -> None:
    con, out = console(color=True)
    con.ui_for("web").say("hello")
    assert not ANSI.search(out.getvalue())


def _on_a_terminal(**kw: bool) -> str:
    """Write through a Console whose stream is a real pseudo-terminal; return what arrived."""
    master, slave = pty.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as stream:
            con = Console(Masker(), stream=stream, **kw)
            con.ui_for("web").say("hello")
            con.ui_for("db").error("broken")
        received = b""
        # A pty hands over what was written in pieces: read until both lines are in.
        while received.count(b"\n") < 2 and select.select([master], [], [], 5)[0]:
            received += os.read(master, 65536)
        return received.decode()
    finally:
        os.close(master)
        os.close(slave)


def test_colours_on_a_terminal() -> None:
    text = _on_a_terminal(color=True)
    assert ANSI.search(text)
    assert "\x1b[31m" in text or "\x1b[91m" in text, "errors are red"
    assert ANSI.sub("", text).replace("\r", "").splitlines() == [
        "==> web: hello", "==> db: broken"
    ]


def test_color_false_and_machine_mode_disable_colours_on_a_terminal() -> None:
    assert not ANSI.search(_on_a_terminal(color=False))
    assert not ANSI.search(_on_a_terminal(color=True, machine=True))


def test_timestamps() -> None:
    con, out = console(timestamps=True)
    con.ui_for("web").message("hi")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ:     web: hi\n", out.getvalue())


def test_machine_readable_ui_records() -> None:
    con, out = console(machine=True, timestamps=True)
    ui = con.ui_for("web")
    ui.say("Creating image, please wait")
    ui.message("two\nlines")
    ui.error("bad")
    records = [line.split(",", 1)[1] for line in out.getvalue().splitlines()]
    assert records == [
        "web,ui,say,==> web: Creating image%!(PACKER_COMMA) please wait",
        "web,ui,message,    web: two\\nlines",
        "web,ui,error,==> web: bad",
    ]
    assert all(line.split(",")[0].isdigit() for line in out.getvalue().splitlines())


def test_secrets_are_masked_in_human_output() -> None:
    con, out = console(secrets=("hunter2-password",))
    ui = con.ui_for("web")
    ui.message('{"password": "hunter2-password"}')
    con.write("plain hunter2-password")
    assert "hunter2" not in out.getvalue()
    assert out.getvalue().splitlines() == [
        f'    web: {{"password": "{MASK}"}}', f"plain {MASK}"
    ]


def test_secrets_with_commas_are_masked_before_escaping() -> None:
    """Escaping first would hide the secret from the masker behind %!(PACKER_COMMA)."""
    con, out = console(secrets=("s3cr3t,with,commas",), machine=True)
    con.ui_for("web").say("token s3cr3t,with,commas")
    con.record("web", "artifact", "0", "id", "s3cr3t,with,commas")
    text = out.getvalue()
    assert "s3cr3t" not in text
    lines = [line.split(",", 1)[1] for line in text.splitlines()]
    assert lines == [f"web,ui,say,==> web: token {MASK}", f"web,artifact,0,id,{MASK}"]


def test_lines_from_parallel_builds_do_not_interleave() -> None:
    con, out = console()

    def chatter(name: str) -> None:
        ui = con.ui_for(name)
        for i in range(200):
            ui.message(f"line {i} " + name * 20)

    threads = [threading.Thread(target=chatter, args=(f"b{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 800
    assert all(re.fullmatch(r"    (b\d): line \d+ (\1){20}", line) for line in lines)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.04, "0.0 seconds"),
        (3.14, "3.1 seconds"),
        (12.4, "12 seconds"),
        (60, "1 minute 0 seconds"),
        (61, "1 minute 1 second"),
        (135, "2 minutes 15 seconds"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text
