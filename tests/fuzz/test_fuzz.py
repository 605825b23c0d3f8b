"""Nothing but ``SamlError`` leaves samljit, whatever the input: a mutation fuzzer.

Valid responses (assertion-signed, double-signed, response-signed, encrypted), logout messages
(POST and Redirect bindings) and real IdP metadata are mutated (see ``mutations.py``), before
their signature is made (to reach the checks behind it) or after (to hit the signature checks),
and fed to the public entry points. A result or a ``SamlError`` passes; any other exception,
or a warning that is not a ``SamlWarning``, fails.

The normal suite runs a small, fixed number of examples (``derandomize``). ``make fuzz`` runs
many more with a random seed (``SAMLJIT_FUZZ_EXAMPLES``) and, with ``SAMLJIT_FUZZ_SAVE``, saves
every distinct crasher to that directory instead of stopping at the first. A crasher, once
fixed, is kept under ``crashers/<target>/<code>--<name>`` and replayed by
``test_a_kept_crasher_is_refused_with_its_code``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import traceback
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from lxml import etree

import samljit

from .mutations import VALUES, mutate_bytes, mutate_document, mutate_tree
from .targets import (
    CRASHERS,
    RESPONSE_KINDS,
    TARGETS,
    interop_metadata_files,
    issue_response,
    logout_xml,
    redirect_query,
    sign_enveloped,
    signed_metadata,
    world,
)

LONG_RUN = int(os.environ.get("SAMLJIT_FUZZ_EXAMPLES", "0"))
SAVE = os.environ.get("SAMLJIT_FUZZ_SAVE")

FUZZ = settings(
    max_examples=LONG_RUN or 200,
    deadline=None,
    derandomize=not LONG_RUN,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

_found: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def _report_saved_crashers() -> Iterator[None]:
    """In a long run that saves crashers, fail once at the end, listing them."""
    yield
    if _found:
        listing = "\n".join(f"  {key}: {path}" for key, path in sorted(_found.items()))
        pytest.fail(f"{len(_found)} distinct crasher(s) saved:\n{listing}")


def check(target: str, data: bytes) -> None:
    """Feed ``data`` to ``target``: a result or a SamlError is fine, anything else is not."""
    try:
        TARGETS[target](data)
    except samljit.SamlError:
        return
    except Exception as exc:
        if SAVE is None:
            raise
        _save(target, data, exc)


def _save(target: str, data: bytes, exc: Exception) -> None:
    """Keep the smallest input per (target, exception type, innermost samljit frame)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "samljit" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "tests"
    key = f"{target}/{type(exc).__name__}@{where}"
    directory = Path(SAVE or ".") / target
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{type(exc).__name__}-{where.replace(':', '-').replace('.', '_')}"
    name = f"{stem}-{hashlib.sha256(data).hexdigest()[:8]}.bin"
    previous = _found.get(key)
    if previous is not None and previous.stat().st_size <= len(data):
        return
    path = directory / name
    path.write_bytes(data)
    path.with_suffix(".txt").write_text("".join(traceback.format_exception(exc)))
    if previous is not None:
        previous.unlink(missing_ok=True)
        previous.with_suffix(".txt").unlink(missing_ok=True)
    _found[key] = path


# --- seeds -------------------------------------------------------------------------------


@cache
def response_seed(kind: str) -> bytes:
    return issue_response(kind)


@cache
def metadata_seeds() -> tuple[bytes, ...]:
    return (world().metadata, *(p.read_bytes() for p in interop_metadata_files()))


def _parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, etree.XMLParser(resolve_entities=False, huge_tree=True))


def test_the_interop_metadata_is_there() -> None:
    assert len(interop_metadata_files()) >= 10, "expected ../shared/interop/metadata"


@pytest.mark.parametrize("kind", RESPONSE_KINDS)
def test_every_response_seed_verifies_unmutated(kind: str) -> None:
    """The fuzzer starts from accepted inputs, so mutations reach past the first check."""
    TARGETS["response"](response_seed(kind))
    TARGETS["login"](response_seed(kind))
    TARGETS["login_shared"](response_seed(kind))


@pytest.mark.parametrize("kind", ["request", "response"])
def test_every_logout_seed_is_read_unmutated(kind: str) -> None:
    parameter = "SAMLRequest" if kind == "request" else "SAMLResponse"
    TARGETS["logout_post"](logout_xml(kind, signed=True))
    query = redirect_query(logout_xml(kind, signed=False), parameter)
    TARGETS["logout_redirect"](query.encode())
    if kind == "request":  # a LogoutResponse answers no pending logout of the fresh service
        TARGETS["slo_post"](logout_xml(kind, signed=True))
        TARGETS["slo_redirect"](query.encode())


def test_the_signed_metadata_seed_verifies_unmutated() -> None:
    TARGETS["metadata_signed"](signed_metadata(world().metadata))
    TARGETS["metadata_source"](world().metadata)


# --- the fuzzers -------------------------------------------------------------------------


@FUZZ
@given(data=st.data(), kind=st.sampled_from(RESPONSE_KINDS))
def test_a_response_mutated_after_signing_gives_only_saml_errors(
    data: st.DataObject, kind: str
) -> None:
    check("response", mutate_document(data, response_seed(kind)))


@FUZZ
@given(data=st.data(), kind=st.sampled_from(RESPONSE_KINDS), where=st.booleans())
def test_a_response_mutated_before_signing_gives_only_saml_errors(
    data: st.DataObject, kind: str, where: bool
) -> None:
    """Edits made before the signatures, so that they reach the checks behind them."""

    def edit(element: etree._Element) -> None:
        mutate_tree(data, element, at_most=3)

    edits = {"edit_assertion": edit} if where else {"edit_response": edit}
    try:
        xml = issue_response(kind, **edits)
    except Exception:  # the test IdP cannot sign what the edit left (no placeholder, no ID)
        reject()
    check("response", xml)


@FUZZ
@given(data=st.data(), kind=st.sampled_from(RESPONSE_KINDS), before_signing=st.booleans())
def test_a_login_with_a_mutated_response_gives_only_saml_errors(
    data: st.DataObject, kind: str, before_signing: bool
) -> None:
    """Through ``complete_login``: claims, provisioning and the audit events too."""
    if not before_signing:
        xml = mutate_document(data, response_seed(kind))
        check("login", xml)
        check("login_shared", xml)
        return

    def edit(element: etree._Element) -> None:
        mutate_tree(data, element, at_most=3)

    try:
        xml = issue_response(kind, edit_assertion=edit)
    except Exception:  # the test IdP cannot sign what the edit left
        reject()
    check("login", xml)
    check("login_shared", xml)


@FUZZ
@given(data=st.data(), kind=st.sampled_from(RESPONSE_KINDS))
def test_a_mutated_form_value_gives_only_saml_errors(data: st.DataObject, kind: str) -> None:
    value = base64.b64encode(response_seed(kind))
    if data.draw(st.booleans(), label="wrap lines"):
        value = base64.encodebytes(response_seed(kind))
    check("response_form", mutate_bytes(data, value))


@FUZZ
@given(
    data=st.data(),
    kind=st.sampled_from(["request", "response"]),
    before_signing=st.booleans(),
)
def test_a_logout_message_by_post_gives_only_saml_errors(
    data: st.DataObject, kind: str, before_signing: bool
) -> None:
    if before_signing:
        root = _parse(logout_xml(kind, signed=False))
        mutate_tree(data, root, at_most=3)
        w = world()
        try:
            xml = sign_enveloped(root, w.idp.key, w.idp.certificate)
        except Exception:  # nothing to sign (the ID is gone)
            reject()
    else:
        xml = mutate_document(data, logout_xml(kind, signed=True))
    check("logout_post", xml)
    check("slo_post", xml)


def _mutate_query(data: st.DataObject, query: str) -> str:
    """Whole parameters dropped, repeated, swapped or given new values; or bytes changed."""
    parts = query.split("&")
    for _ in range(data.draw(st.integers(1, 3), label="query mutations")):
        kind = data.draw(st.integers(0, 4), label="query mutation")
        at = data.draw(st.integers(0, len(parts) - 1), label="parameter") if parts else 0
        if kind == 0 and parts:
            del parts[at]
        elif kind == 1 and parts:
            parts.insert(at, parts[at])
        elif kind == 2 and len(parts) > 1:
            parts[at], parts[-1] = parts[-1], parts[at]
        elif kind == 3 and parts:
            name = parts[at].partition("=")[0]
            value = data.draw(st.sampled_from(VALUES) | st.text(max_size=30), label="value")
            encoded = quote(value, safe="") if data.draw(st.booleans(), label="quote") else value
            parts[at] = f"{name}={encoded}"
        else:
            return mutate_bytes(data, "&".join(parts).encode()).decode("utf-8", "surrogateescape")
    return "&".join(parts)


@FUZZ
@given(
    data=st.data(),
    kind=st.sampled_from(["request", "response"]),
    before_signing=st.booleans(),
)
def test_a_logout_message_by_redirect_gives_only_saml_errors(
    data: st.DataObject, kind: str, before_signing: bool
) -> None:
    parameter = "SAMLRequest" if kind == "request" else "SAMLResponse"
    xml = logout_xml(kind, signed=False)
    if before_signing:  # the query signature is made over the mutated message
        root = _parse(xml)
        mutate_tree(data, root, at_most=3)
        query = redirect_query(
            etree.tostring(root, xml_declaration=True, encoding="UTF-8"), parameter
        )
    else:
        query = _mutate_query(data, redirect_query(xml, parameter))
    check("logout_redirect", query.encode("utf-8", "surrogateescape"))
    check("slo_redirect", query.encode("utf-8", "surrogateescape"))


@FUZZ
@given(data=st.data(), index=st.sampled_from(range(1 + len(interop_metadata_files()))))
def test_mutated_real_metadata_gives_only_saml_errors(data: st.DataObject, index: int) -> None:
    seeds = metadata_seeds()
    check("metadata", mutate_document(data, seeds[index]))


@FUZZ
@given(data=st.data(), before_signing=st.booleans())
def test_mutated_signed_metadata_gives_only_saml_errors(
    data: st.DataObject, before_signing: bool
) -> None:
    if before_signing:
        root = _parse(world().metadata)
        mutate_tree(data, root, at_most=3)
        try:
            xml = signed_metadata(etree.tostring(root))
        except Exception:  # nothing the signer can sign
            reject()
    else:
        xml = mutate_document(data, signed_metadata(world().metadata))
    check("metadata_signed", xml)


@FUZZ
@given(data=st.data(), index=st.sampled_from(range(1 + len(interop_metadata_files()))))
def test_a_refresh_with_a_mutated_document_keeps_the_good_copy(
    data: st.DataObject, index: int
) -> None:
    seeds = metadata_seeds()
    check("metadata_source", mutate_document(data, seeds[index]))


# --- kept crashers -----------------------------------------------------------------------


def _kept() -> list[Path]:
    return sorted(p for p in CRASHERS.glob("*/*") if p.is_file() and "--" in p.name)


def test_crashers_are_kept() -> None:
    assert _kept(), f"expected regression inputs under {CRASHERS}"


@pytest.mark.parametrize("path", _kept(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_kept_crasher_is_refused_with_its_code(path: Path) -> None:
    """Each input that once made samljit raise something else now gets its SamlError; the
    expected code is the file name's prefix (``<code>--<name>``)."""
    code = path.name.partition("--")[0]
    with pytest.raises(samljit.SamlError) as caught:
        TARGETS[path.parent.name](path.read_bytes())
    assert caught.value.code == code
