"""The SP's side: ``samljit login-url`` (an SP-initiated request to try an IdP by hand) and
``samljit sp-metadata``."""

from __future__ import annotations

import argparse
import base64
import sys
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .._certificates import load_certificate
from .._config import SPConfig
from ..bindings import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, encode_redirect, post_form
from ..errors import SamlError
from ..messages import build_authn_request, build_sp_metadata
from ..metadata import (
    parse_idp_metadata,
)
from ._common import (
    EXIT_OK,
    _explained,
    _Parser,
    _print_json,
    _read,
    _rejected,
    _Usage,
    command,
    json_option,
)


def add_commands(commands: argparse._SubParsersAction[_Parser]) -> None:
    """Add this group's commands to the ``samljit`` parser."""
    login_url = command(
        commands, "login-url", "build an SP-initiated login request to test an IdP by hand"
    )
    login_url.add_argument(
        "--idp-metadata", required=True, metavar="FILE", help="the IdP metadata XML, or -"
    )
    login_url.add_argument("--idp-entity-id", metavar="ID", help="pick an IdP from an aggregate")
    login_url.add_argument(
        "--sp-entity-id", required=True, metavar="ID", help="the SP entity ID (the Issuer)"
    )
    login_url.add_argument(
        "--acs-url", required=True, metavar="URL", help="where the IdP posts the response"
    )
    login_url.add_argument(
        "--relay-state", metavar="S", help="a RelayState the IdP sends back with the response"
    )
    login_url.add_argument(
        "--binding",
        choices=("redirect", "post"),
        default="redirect",
        help="how the request goes to the IdP (default redirect)",
    )
    login_url.add_argument("--sp-key", metavar="FILE", help="PEM private key to sign with")
    json_option(login_url)
    login_url.set_defaults(run=_login_url)
    sp_metadata = command(commands, "sp-metadata", "print this SP's metadata XML")
    sp_metadata.add_argument(
        "--sp-entity-id",
        "--entity-id",
        dest="entity_id",
        required=True,
        metavar="ID",
        help="the SP entity ID",
    )
    sp_metadata.add_argument(
        "--acs-url", required=True, metavar="URL", help="the ACS URL (HTTP-POST)"
    )
    sp_metadata.add_argument("--cert", metavar="FILE", help="PEM signing certificate")
    sp_metadata.add_argument(
        "--encryption-cert", metavar="FILE", help="PEM certificate IdPs encrypt assertions for"
    )
    sp_metadata.add_argument(
        "--slo-url", metavar="URL", help="the Single Logout URL (HTTP-Redirect and HTTP-POST)"
    )
    sp_metadata.add_argument(
        "--want-assertions-signed", action="store_true", help="ask the IdP to sign assertions"
    )
    sp_metadata.set_defaults(run=_sp_metadata)


def _login_url(args: argparse.Namespace) -> int:
    metadata_xml = _read(args.idp_metadata)
    key = None
    if args.sp_key:
        try:
            loaded = serialization.load_pem_private_key(_read(args.sp_key), password=None)
        except (ValueError, TypeError) as exc:
            raise _Usage(f"--sp-key is not an unencrypted PEM private key: {exc}") from exc
        if not isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise _Usage("--sp-key must be an RSA or EC key")
        key = loaded
    try:
        sp = SPConfig(entity_id=args.sp_entity_id, acs_url=args.acs_url)
    except SamlError as exc:
        raise _Usage(exc.message) from exc
    try:
        idp = parse_idp_metadata(metadata_xml, entity_id=args.idp_entity_id).idp
    except SamlError as exc:
        return _rejected(_explained(exc, args), args.json)
    wanted = BINDING_HTTP_POST if args.binding == "post" else BINDING_HTTP_REDIRECT
    endpoint = idp.sso_service(wanted)
    if endpoint is None:
        other = "redirect" if args.binding == "post" else "post"
        raise _Usage(
            f"the IdP metadata has no SingleSignOnService for --binding {args.binding}; "
            f"try --binding {other}"
        )
    post = args.binding == "post"
    request = build_authn_request(
        sp=sp,
        destination=endpoint.location,
        now=datetime.now(UTC),
        signing_key=key if post else None,
    )
    relay = {} if args.relay_state is None else {"RelayState": args.relay_state}
    fields = {"SAMLRequest": base64.b64encode(request.xml).decode("ascii"), **relay}
    url = None
    if not post:
        url = encode_redirect(
            request.xml, destination=endpoint.location, relay_state=args.relay_state, key=key
        )
    if args.json:
        _print_json(
            {
                "ok": True,
                "request_id": request.request_id,
                "binding": args.binding,
                "destination": endpoint.location,
                "url": url,
                "form_fields": fields if post else None,
                "idp_entity_id": idp.entity_id,
            }
        )
        return EXIT_OK
    print(url if url is not None else post_form(endpoint.location, fields))
    print(f"request ID: {request.request_id}", file=sys.stderr)
    return EXIT_OK


def _sp_metadata(args: argparse.Namespace) -> int:
    def certificate(path: str | None) -> x509.Certificate | None:
        if path is None:
            return None
        try:
            return load_certificate(_read(path))
        except ValueError as exc:
            raise _Usage(f"{path} is not a PEM certificate: {exc}") from exc

    try:
        SPConfig(entity_id=args.entity_id, acs_url=args.acs_url)
    except SamlError as exc:
        raise _Usage(exc.message) from exc
    xml = build_sp_metadata(
        entity_id=args.entity_id,
        acs_url=args.acs_url,
        slo_url=args.slo_url,
        signing_certificate=certificate(args.cert),
        encryption_certificate=certificate(args.encryption_cert),
        want_assertions_signed=args.want_assertions_signed,
    )
    sys.stdout.write(xml.decode("utf-8"))
    return EXIT_OK
