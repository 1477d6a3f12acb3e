"""Masking of secret values, in every form they can take in text bake prints or writes."""

from __future__ import annotations

import base64
import json
import logging
import shlex
import threading
import urllib.parse

MASK = "<sensitive>"


def escaped_forms(secret: str) -> set[str]:
    """The encodings of a secret that can show up in logs: raw, JSON, shell, URL, base64."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        shlex.quote(secret),
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(secret.encode()).decode().rstrip("="),
    }
    return {f for f in forms if len(f) >= 4}


class Masker:
    """Replaces registered secrets with ``<sensitive>``. Thread-safe; shared by a whole run."""

    def __init__(self) -> None:
        self._forms: list[str] = []
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        if not secret or len(secret) < 4:
            return
        with self._lock:
            new = escaped_forms(secret) - set(self._forms)
            # Longest first, so a form that contains another is replaced whole.
            self._forms = sorted([*self._forms, *new], key=len, reverse=True)

    def mask(self, text: str) -> str:
        with self._lock:
            forms = list(self._forms)
        for form in forms:
            if form in text:
                text = text.replace(form, MASK)
        return text


_PROCESS_MASKER = Masker()


def process_masker() -> Masker:
    """The masker of this bake process: the CLI, the log handlers and the builds share it."""
    return _PROCESS_MASKER


class MaskingFilter(logging.Filter):
    """Masks secrets in log records before any handler writes them."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.masker.mask(record.getMessage())
        record.args = None
        if record.exc_info:
            # Render the traceback now so that secrets inside it are masked too.
            record.exc_text = self.masker.mask(
                logging.Formatter().formatException(record.exc_info)
            )
            record.exc_info = None
        return True
