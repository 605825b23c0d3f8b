"""PixelCDN kept running for a browser: what ``make demo-serve`` runs.

Serves app.py on 127.0.0.1:8000 (or ``--port``, or the ``JIT_DEMO_PORT`` environment variable)
with a fresh SQLite file, until Ctrl-C. Open the printed URLs: sign in as the account
administrator, connect the test IdP on samljit's admin pages (paste or upload its metadata,
check, save), sign in from the test IdP as any user, name and role, and watch the users page
and the admin status page's recent logins.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from app import ADMIN_EMAIL, DEMO_ACCOUNT, create_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PixelCDN, the JIT demo app, for a browser")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("JIT_DEMO_PORT", "8000")),
        help="port on 127.0.0.1 (default: $JIT_DEMO_PORT or 8000; 0 picks a free one)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="jit-demo-") as tmp:
        database = Path(tmp) / "pixelcdn.sqlite"
        try:
            server, app = create_server(database, port=args.port)
        except OSError as exc:
            print(f"cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
            return 1
        base = app.base_url
        print(f"PixelCDN is running at {base}/ (users in {database}). Open:")
        admin = f"{base}/sso/admin/{DEMO_ACCOUNT}/"
        print(f"  1. {base}/  press Sign in as the account administrator ({ADMIN_EMAIL})")
        print(f"  2. {admin}connect  connect the test IdP: paste or upload its metadata")
        print(f"     ({base}/test-idp/metadata.xml), check what was read, then save")
        print(f"  3. {base}/test-idp  sign in as any user, name, role and account id (in a")
        print("     private window, to stay signed in as the administrator in this one)")
        print(f"  4. {admin}  SSO status: the IdP, Test connection, the recent logins")
        print(f"  5. {base}/users  the users, their last login and its outcome")
        print("Ctrl-C stops it.", flush=True)
        with server:
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                print("\nstopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
