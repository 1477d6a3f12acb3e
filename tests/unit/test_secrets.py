"""The Masker: a secret is masked in every form it can take in what bake prints or writes."""

from __future__ import annotations

import base64
import json
import shlex
import threading
import urllib.parse

import pytest

from bakeansible.secrets import MASK, Masker, escaped_forms

SECRET = 'p@ss "w/rd"\n$HOME it\'s'


@pytest.fixture
def masker() -> Masker:
    m = Masker()
    m.add(SECRET)
    return m


def test_raw_form(masker: Masker) -> None:
    assert masker.mask(f"password={SECRET}; done") == f"password={MASK}; done"


def test_json_escaped_form(masker: Masker) -> None:
    text = json.dumps({"password": SECRET})
    assert SECRET not in text, "the raw form is not in the JSON text"
    assert masker.mask(text) == json.dumps({"password": MASK})


def test_shell_quoted_form(masker: Masker) -> None:
    text = f"sh -c 'echo hi' && useradd -p {shlex.quote(SECRET)} bob"
    assert masker.mask(text) == f"sh -c 'echo hi' && useradd -p {MASK} bob"


def test_url_encoded_forms(masker: Masker) -> None:
    quoted = urllib.parse.quote(SECRET, safe="")
    plus = urllib.parse.quote_plus(SECRET)
    assert quoted != plus
    assert masker.mask(f"https://u:{quoted}@host/") == f"https://u:{MASK}@host/"
    assert masker.mask(f"/login?pw={plus}&x=1") == f"/login?pw={MASK}&x=1"


def test_base64_form(masker: Masker) -> None:
    encoded = base64.b64encode(SECRET.encode()).decode()
    masked = masker.mask(f"Authorization: {encoded}")
    assert encoded.rstrip("=") not in masked
    assert masked.startswith(f"Authorization: {MASK}")


def test_every_form_in_one_text(masker: Masker) -> None:
    forms = escaped_forms(SECRET)
    assert len(forms) == 6
    text = " | ".join(sorted(forms))
    masked = masker.mask(text)
    assert masked == " | ".join([MASK] * 6)


@pytest.mark.parametrize("short", ["", "a", "ab", "abc"])
def test_short_strings_are_ignored(short: str) -> None:
    """Masking "abc" everywhere would shred ordinary output and reveal nothing useful."""
    m = Masker()
    m.add(short)
    m.add(None)
    assert m.mask("abc abcd a b") == "abc abcd a b"


def test_short_encoded_forms_are_dropped() -> None:
    # Four characters: every form has at least four characters, so all are kept.
    assert all(len(f) >= 4 for f in escaped_forms("abcd"))
    assert "abcd" in escaped_forms("abcd")


def test_a_secret_containing_another_is_masked_whole() -> None:
    m = Masker()
    m.add("token")
    m.add("token-and-more")
    assert m.mask("x token-and-more y token z") == f"x {MASK} y {MASK} z"


def test_several_secrets_and_repeats() -> None:
    m = Masker()
    m.add("AKIDexample1234")
    m.add("sk-secret-5678")
    m.add("AKIDexample1234")
    text = "id=AKIDexample1234 key=sk-secret-5678 again AKIDexample1234"
    assert m.mask(text) == f"id={MASK} key={MASK} again {MASK}"


def test_text_without_secrets_is_unchanged(masker: Masker) -> None:
    assert masker.mask("nothing to see here") == "nothing to see here"
    assert Masker().mask("no secrets registered") == "no secrets registered"


def test_add_and_mask_from_many_threads() -> None:
    m = Masker()
    secrets = [f"secret-number-{i:03d}" for i in range(50)]
    threads = [threading.Thread(target=m.add, args=(s,)) for s in secrets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert m.mask(" ".join(secrets)) == " ".join([MASK] * 50)
