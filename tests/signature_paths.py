"""Both signature paths on one signature: the comparison of tests/test_signature_differential.py.

``differ`` takes ``verify_enveloped``'s arguments, runs the signxml path (``lean=False``) and the
shipped one (lean for the lean shapes), fails the test on any disagreement and returns (or
raises) signxml's verdict. ``install`` puts it in place of ``verify_enveloped`` where samljit
calls it; with ``SAMLJIT_SIGNATURE_DIFFERENTIAL=1`` the whole test suite runs that way
(``tests/conftest.py``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from lxml import etree

import samljit
from samljit import _metadata_document, _response, logout
from samljit._lean_signature import lean_signature
from samljit._signature import Verified, verify_enveloped
from samljit._signed_info import check_signed_info

STRICTER: dict[str, tuple[Callable[[dict[str, Any]], bool], str]] = {}
"""Cases where the lean path may refuse what signxml accepts: name -> (does this call match,
why refusing is right). Empty: the lean path hands every shape it is not sure of to signxml."""

TALLY: Counter[str] = Counter()


def _judge(lean: bool, args: dict[str, Any]) -> Verified | Exception:
    try:
        return verify_enveloped(lean=lean, **args)
    except Exception as exc:  # compared below: a non-SamlError must match too
        return exc


def _outcome(outcome: Verified | Exception) -> tuple[Any, ...]:
    """What a verdict says: the signed element's bytes and the key, or the error."""
    if isinstance(outcome, Verified):
        return (etree.tostring(outcome.element), outcome.certificate)
    return _error(outcome)


def _error(outcome: Exception) -> tuple[Any, ...]:
    if isinstance(outcome, samljit.SamlError):
        return (type(outcome), outcome.code, str(outcome), outcome.expected, outcome.found)
    return (type(outcome), str(outcome))


def is_lean(args: dict[str, Any]) -> bool:
    """Whether the lean path takes this signature; one it takes must pass check_signed_info
    (which the lean path does not run) with the same signature method."""
    found = lean_signature(args["signed"], args["signature"], allow_sha1=args["allow_sha1"])
    if found is None:
        return False
    method = check_signed_info(
        args["signature"],
        args["signed"].get("ID"),
        allow_sha1=args["allow_sha1"],
        what=args["what"],
    )
    assert method == found.method
    return True


def differ(
    signed: etree._Element,
    signature: etree._Element,
    *,
    certificates: tuple[x509.Certificate, ...],
    allow_sha1: bool,
    what: str,
    consume: bool = False,
) -> Verified:
    """Both paths on one signature; fails on any disagreement, else returns signxml's verdict.

    The lean path runs on a copy first, leaving the document as it was, and then, when the
    caller gives the document up (``consume``), on the document itself: both must agree."""
    args = dict(
        signed=signed,
        signature=signature,
        certificates=certificates,
        allow_sha1=allow_sha1,
        what=what,
    )
    before = etree.tostring(signed)
    reference = _judge(False, args)
    lean = _judge(True, args)
    assert etree.tostring(signed) == before, "a verification changed the document"
    shaped = is_lean(args)
    if consume:
        consumed = _judge(True, {**args, "consume": True})
        same = _outcome(consumed) == _outcome(lean)
        del consumed  # an error's traceback would keep this frame, and the documents, alive
        assert same, "consuming the document changed the verdict"
        TALLY["consumed"] += 1
    TALLY["signatures"] += 1
    TALLY["lean shape" if shaped else "signxml shape"] += 1
    if isinstance(reference, Verified):
        TALLY["accepted" + (" (lean shape)" if shaped else "")] += 1
        if not isinstance(lean, Verified):
            if any(matches(args) for matches, _ in STRICTER.values()):
                TALLY["lean stricter (justified)"] += 1
                return reference
            _dump(signed)
            pytest.fail(f"the lean path refuses what signxml accepts: {lean!r}")
        if etree.tostring(lean.element) != etree.tostring(reference.element):
            _dump(signed)
        assert etree.tostring(lean.element) == etree.tostring(reference.element)
        assert etree.tostring(lean.element, method="c14n") == etree.tostring(
            reference.element, method="c14n"
        )
        assert lean.certificate == reference.certificate
        return reference
    TALLY["refused " + getattr(reference, "code", type(reference).__name__)] += 1
    if isinstance(lean, Verified) or _error(lean) != _error(reference):
        _dump(signed)
    if isinstance(lean, Verified):
        pytest.fail(f"the lean path accepts what signxml refuses: {reference!r}")
    assert _error(lean) == _error(reference)
    try:
        raise reference
    finally:  # no cycle through this frame: the documents go as soon as the error does
        del reference, lean


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on (until the test ends), every signature samljit verifies goes to ``differ``."""
    for module in (_response, _metadata_document, logout):
        monkeypatch.setattr(module, "verify_enveloped", differ)


def _dump(signed: etree._Element) -> None:
    """With SAMLJIT_DIFFERENTIAL_DUMP=path, the document of a disagreement is written there."""
    if os.environ.get("SAMLJIT_DIFFERENTIAL_DUMP"):
        path = Path(os.environ["SAMLJIT_DIFFERENTIAL_DUMP"])
        path.write_bytes(etree.tostring(signed.getroottree()))
