"""Run the example with one command, from the repository root::

    IDP_METADATA_URL=http://127.0.0.1:8080/simplesaml/saml2/idp/metadata.php \
        python examples/django_project/app.py

Environment: ``PORT`` (listen on 127.0.0.1:PORT, default 8000), ``IDP_METADATA_URL`` (the
IdP metadata, fetched at start for account ``acme``), ``DATABASE`` (the SQLite file to
create; samljit's replay cache and request store and the SP key pair go next to it).

It migrates, configures account ``acme``, prints ``serving on http://127.0.0.1:PORT`` and
serves (wsgiref, one thread per request) until stopped. The SP's entity ID is
``http://127.0.0.1:PORT/sso/acme/metadata``, its ACS ``…/sso/acme/acs``, SLO ``…/sso/acme/slo``.
"""

import os
import sys
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIServer, make_server

HERE = Path(__file__).resolve().parent


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def sp_key_pair(directory: Path) -> None:
    """A throwaway SP signing key pair (for Single Logout), made once per data directory;
    a real deployment loads its own from its secret store."""
    from cryptography.hazmat.primitives import serialization

    from samljit.testing import make_certificate

    key_file, cert_file = directory / "sp-key.pem", directory / "sp-cert.pem"
    if key_file.exists() and cert_file.exists():
        return
    key, certificate = make_certificate(common_name="samljit Django example SP")
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))


def main() -> None:
    sys.path.insert(0, str(HERE))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    database = Path(os.environ.setdefault("DATABASE", str(HERE / "db.sqlite3"))).resolve()
    os.environ["DATABASE"] = str(database)
    database.parent.mkdir(parents=True, exist_ok=True)
    sp_key_pair(database.parent)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from mysite import sso

    call_command("migrate", verbosity=0)
    metadata_url = os.environ.get("IDP_METADATA_URL")
    if metadata_url:
        sso.configure_acme(metadata_url)
    else:
        print("IDP_METADATA_URL is not set: account acme has no SSO", file=sys.stderr)
    server = make_server(
        "127.0.0.1", settings.PORT, get_wsgi_application(), server_class=ThreadingWSGIServer
    )
    print(f"serving on {settings.BASE_URL}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
