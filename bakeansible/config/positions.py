"""Reading template and variable files while keeping the line and column of every node.

``load_document(path)`` returns the plain data (dicts, lists, scalars) and a ``Positions`` map
from field paths (``builds[1].provisioners[0].inline``) to 1-based ``(line, column)``. YAML is
composed with PyYAML's pure-Python SafeLoader (its C composer recurses without a guard); JSON is
parsed by :mod:`json` and then scanned once more to find where each value starts.

Guards run before parsing: a directory, an unreadable file, a file over ``MAX_BYTES``, an empty
file and nesting deeper than ``MAX_DEPTH`` each give one clear ``ConfigError``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import yaml

from bakeansible.errors import ConfigError, ConfigIssue

MAX_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 64

Pos = tuple[int, int]


@dataclass
class Positions:
    """Where each value and each mapping key starts, by field path (1-based line, column)."""

    values: dict[str, Pos] = field(default_factory=dict)
    keys: dict[str, Pos] = field(default_factory=dict)

    def value(self, path: str) -> Pos | None:
        """Position of the value at ``path``, or of its nearest ancestor that has one."""
        return _nearest(self.values, path)

    def key(self, path: str) -> Pos | None:
        """Position of the key naming ``path`` (falls back to the value, then to ancestors)."""
        if path in self.keys:
            return self.keys[path]
        return self.value(path)


def _nearest(table: dict[str, Pos], path: str) -> Pos | None:
    while True:
        if path in table:
            return table[path]
        if not path:
            return None
        path = parent_path(path)


def parent_path(path: str) -> str:
    """``a.b[2]`` → ``a.b``; ``a.b`` → ``a``; ``a`` → ``""``."""
    cut = max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def child_path(path: str, key: str | int) -> str:
    """The path of a mapping key or a list index below ``path``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


@dataclass(frozen=True)
class Document:
    """A parsed file: its data, the positions of its nodes, its text and its format."""

    path: Path
    data: Any
    positions: Positions
    format: str  # "json" or "yaml"
    text: str


def _fail(
    file: Path | str, message: str, line: int | None = None, col: int | None = None
) -> NoReturn:
    raise ConfigError([ConfigIssue(str(file), "", message, line, col)])


def read_text(path: Path, *, what: str = "template") -> str:
    """The text of ``path``, after the directory, size, permission and encoding checks."""
    if path.is_dir():
        _fail(path, f"is a directory, not a {what} file")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        _fail(path, f"{what} file not found")
    except OSError as exc:
        _fail(path, f"cannot read {what} file: {exc.strerror or exc}")
    if size > MAX_BYTES:
        _fail(
            path,
            f"{what} file is {size / 1024 / 1024:.1f} MB; bake refuses files over "
            f"{MAX_BYTES // 1024 // 1024} MB",
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        _fail(path, f"cannot read {what} file: {exc.strerror or exc}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(path, f"{what} file is not UTF-8 text (bad byte at offset {exc.start})")
    if not text.strip():
        _fail(path, f"{what} file is empty")
    return text


def load_document(path: Path, *, what: str = "template", format: str | None = None) -> Document:
    """Read, check and parse ``path`` (JSON when it ends in ``.json``, YAML otherwise)."""
    text = read_text(path, what=what)
    fmt = format or ("json" if path.suffix.lower() == ".json" else "yaml")
    if fmt == "json":
        data, positions = parse_json(text, str(path))
    else:
        data, positions = parse_yaml(text, str(path))
    return Document(path, data, positions, fmt, text)


# --- JSON -------------------------------------------------------------------------------------

_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_WS = re.compile(r"[ \t\n\r]*")
_NUMBER_OR_LITERAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null")


def _line_col(text: str, offset: int) -> Pos:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _check_json_depth(text: str, file: str) -> None:
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        tok = match.group()
        if tok in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                line, col = _line_col(text, match.start())
                _fail(file, f"nesting is deeper than {MAX_DEPTH} levels", line, col)
        elif tok in "]}":
            depth -= 1


def parse_json(text: str, file: str) -> tuple[Any, Positions]:
    """Parse JSON text; errors carry the line and column of the problem."""
    _check_json_depth(text, file)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        _fail(file, f"malformed JSON: {exc.msg}", exc.lineno, exc.colno)
    except RecursionError:
        _fail(file, f"nesting is deeper than {MAX_DEPTH} levels")
    positions = Positions()
    _JsonScanner(text, positions).scan()
    return data, positions


class _JsonScanner:
    """Walks text already known to be valid JSON and records where each value starts."""

    def __init__(self, text: str, positions: Positions) -> None:
        self.text = text
        self.positions = positions
        self.i = 0

    def _skip(self) -> None:
        self.i = _WS.match(self.text, self.i).end()  # type: ignore[union-attr]

    def scan(self) -> None:
        self._skip()
        self._value("")

    def _value(self, path: str) -> None:
        self.positions.values[path] = _line_col(self.text, self.i)
        ch = self.text[self.i]
        if ch == "{":
            self._object(path)
        elif ch == "[":
            self._array(path)
        elif ch == '"':
            _, self.i = json.decoder.scanstring(self.text, self.i + 1)  # type: ignore[attr-defined]
        else:
            self.i = _NUMBER_OR_LITERAL.match(self.text, self.i).end()  # type: ignore[union-attr]

    def _object(self, path: str) -> None:
        self.i += 1
        self._skip()
        if self.text[self.i] == "}":
            self.i += 1
            return
        while True:
            key_pos = _line_col(self.text, self.i)
            key, self.i = json.decoder.scanstring(self.text, self.i + 1)  # type: ignore[attr-defined]
            sub = child_path(path, key)
            self.positions.keys[sub] = key_pos
            self._skip()
            self.i += 1  # ':'
            self._skip()
            self._value(sub)
            self._skip()
            ch = self.text[self.i]
            self.i += 1
            if ch == "}":
                return
            self._skip()

    def _array(self, path: str) -> None:
        self.i += 1
        self._skip()
        if self.text[self.i] == "]":
            self.i += 1
            return
        index = 0
        while True:
            self._value(child_path(path, index))
            index += 1
            self._skip()
            ch = self.text[self.i]
            self.i += 1
            if ch == "]":
                return
            self._skip()


# --- YAML -------------------------------------------------------------------------------------


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader that refuses deep nesting before Python's recursion limit is reached."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooDeep(mark.line + 1, mark.column + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _TooDeep(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__()
        self.line = line
        self.column = column


def parse_yaml(text: str, file: str) -> tuple[Any, Positions]:
    """Parse one YAML document; errors carry the line and column of the problem."""
    loader = _GuardedLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            _fail(file, "template file is empty")
        data = loader.construct_document(node)
    except _TooDeep as exc:
        _fail(file, f"nesting is deeper than {MAX_DEPTH} levels", exc.line, exc.column)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        _fail(file, f"malformed YAML: {problem}{context}", line, col)
    except yaml.YAMLError as exc:
        _fail(file, f"malformed YAML: {exc}")
    except RecursionError:
        _fail(file, f"nesting is deeper than {MAX_DEPTH} levels")
    finally:
        loader.dispose()
    positions = Positions()
    _walk_yaml(node, "", positions, set())
    return data, positions


def _walk_yaml(node: yaml.Node, path: str, positions: Positions, seen: set[int]) -> None:
    positions.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if id(node) in seen:  # an alias: its positions were recorded where the anchor is
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            sub = child_path(path, key_node.value)
            positions.keys.setdefault(
                sub, (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            )
            _walk_yaml(value_node, sub, positions, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk_yaml(item, child_path(path, index), positions, seen)
