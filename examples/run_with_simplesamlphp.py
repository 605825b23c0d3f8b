"""Run an example app against a real IdP: SimpleSAMLphp from Debian's packages, on 127.0.0.1.

What ``make example-flask`` (``-fastapi``, ``-django``) runs, after installing SimpleSAMLphp::

    python examples/run_with_simplesamlphp.py flask_app [--port 8000]

It starts SimpleSAMLphp with the users below, starts the example with ``IDP_METADATA_URL``
pointing at it (account ``acme`` is connected at start; the admin pages can connect it anew),
``ALLOW_LOCAL_METADATA_URLS=1`` (the admin pages may fetch SimpleSAMLphp's http metadata URL)
and a random ``ADMIN_PASSWORD`` for the local administrator ``admin@acme.test``, gives
SimpleSAMLphp the example's SP metadata (as an IdP administrator uploads the file an SP
sends), prints where to go, and stops both by process ID on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import ssp  # noqa: E402 - the SimpleSAMLphp runner the e2e tests use

EXAMPLES = ("flask_app", "fastapi_app", "django_project")
USERS = [
    ssp.IdPUser(
        username="ada",
        password="ada-password",  # noqa: S106 - a demo IdP's fixture
        attributes={
            "email": ["ada@acme.test"],
            "full_name": ["Ada Lovelace"],
            "role": ["developer"],
            "imagekit_id": ["acme"],
        },
    ),
    ssp.IdPUser(
        username="grace",
        password="grace-password",  # noqa: S106
        attributes={
            "email": ["grace@acme.test"],
            "full_name": ["Grace Hopper"],
            "role": ["account_administrator"],
            "imagekit_id": ["acme"],
        },
    ),
    ssp.IdPUser(
        username="guest",
        password="guest-password",  # noqa: S106
        attributes={
            "email": ["guest@acme.test"],
            "full_name": ["A Guest"],
            "role": ["guest"],  # not an accepted role: this login is refused
            "imagekit_id": ["acme"],
        },
    ),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("example", choices=EXAMPLES)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop both servers on `kill` as on Ctrl-C
    base = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory(prefix=f"samljit-{args.example}-") as tmp:
        idp_root = Path(tmp) / "simplesamlphp"
        idp_root.mkdir()
        key = ssp.make_key_pair("SimpleSAMLphp example IdP")
        with ssp.start(idp_root, idp_key=key, users=USERS) as idp:
            admin_password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
            env = dict(
                os.environ,
                PORT=str(args.port),
                IDP_METADATA_URL=idp.metadata_url,
                ALLOW_LOCAL_METADATA_URLS="1",
                ADMIN_PASSWORD=admin_password,
                DATABASE=str(Path(tmp) / "app.sqlite3"),
            )
            app = subprocess.Popen(  # noqa: S603 - our own example
                [sys.executable, str(ROOT / "examples" / args.example / "app.py")], env=env
            )
            try:
                ssp.wait_until_serving(
                    app, base + "/", ready=lambda status, _: status == 200, log=lambda: ""
                )
                _, metadata = ssp.http_get(base + "/sso/acme/metadata", 10)
                idp.register_sp(args.example, metadata)
                print(f"\n{args.example} is running at {base}/ with SimpleSAMLphp as its IdP.")
                print(f"  SSO page:      {base}/sso/  (type ada@acme.test)")
                print(f"  IdP-initiated: {idp.idp_initiated_url(base + '/sso/acme/metadata')}")
                print(f"  Users:         {base}/users")
                print("  IdP logins: ada / ada-password, grace / grace-password,")
                print("              guest / guest-password (an unaccepted role)")
                print(f"  SSO admin:     {base}/sso/admin/acme/  (sign in at {base}/login")
                print(f"                 as admin@acme.test / {admin_password}, or as grace)")
                print(f"  IdP metadata:  {idp.metadata_url}  (for the admin pages' Connect IdP)")
                print("Ctrl-C stops both.", flush=True)
                app.wait()
            except KeyboardInterrupt:
                print("\nstopped")
            finally:
                ssp.stop_process(app)
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
