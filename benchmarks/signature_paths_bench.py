"""samljit's verification with its lean signature path and with signxml only, in one run.

The same freshly signed responses as ``verify_bench.py`` (its built-in Okta-shaped IdP, shapes
a, b and c) go through ``samljit.verify_response`` twice per round, interleaved: as shipped (the
lean path: lxml c14n and cryptography for the shapes real IdPs send) and with every signature
sent to signxml (``lean_signature`` answering None, which is how samljit verified before the lean
path). Medians in microseconds; the ratio is lean / signxml-only.

    .venv/bin/python benchmarks/signature_paths_bench.py            # 15 rounds
    .venv/bin/python benchmarks/signature_paths_bench.py --smoke    # CI: once each
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from verify_bench import SHAPES, BuiltinIdP, Context, SamljitPeer, estimate_ns, run_batch

from samljit import _signature


def signxml_only(call: Callable[[], Any]) -> Callable[[], Any]:
    """``call`` with every signature sent to signxml."""
    original = _signature.lean_signature

    def wrapped() -> Any:
        _signature.lean_signature = lambda signed, signature, allow_sha1: None
        try:
            return call()
        finally:
            _signature.lean_signature = original

    return wrapped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch-ms", type=float, default=40.0)
    parser.add_argument("--shapes", default="abc")
    parser.add_argument("--smoke", action="store_true", help="each call once, no timing")
    args = parser.parse_args(argv)

    idp = BuiltinIdP()
    peer = SamljitPeer("noop")
    peer.setup(Context(metadata_xml=idp.metadata_xml, certificate_pem=idp.certificate_pem))
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; python {sys.version.split()[0]}"
    )
    print(f"{'shape':<40} {'lean µs':>9} {'signxml µs':>11} {'lean/signxml':>13}")
    for shape in SHAPES:
        if shape.key not in args.shapes:
            continue
        issued = idp.issue(shape, datetime.now(UTC))
        calls = {"lean": peer.bind(issued)}
        calls["signxml"] = signxml_only(calls["lean"])
        for call in calls.values():  # both accept, and agree
            assert call() == calls["lean"](), "the two paths read different content"
        if args.smoke:
            continue
        samples: dict[str, list[int]] = {name: [] for name in calls}
        sizes = {
            name: max(5, round(args.batch_ms * 1e6 / estimate_ns(call)))
            for name, call in calls.items()
        }
        names = list(calls)
        for r in range(args.rounds):
            for name in names[r % 2 :] + names[: r % 2]:
                run_batch(calls[name], sizes[name], samples[name])
        lean, signxml = (statistics.median(samples[n]) / 1000 for n in names)
        label = f"({shape.key}) {shape.label}"
        print(f"{label:<40} {lean:>9.0f} {signxml:>11.0f} {lean / signxml:>13.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
