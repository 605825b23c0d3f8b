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


def prepare(metadata_url: str | None, admin_password: str) -> None:
    """The local administrator of account ``acme``, ``admin@acme.test``, who was there before
    SSO, with ``admin_password`` (a random one, printed, when empty); and, when
    ``metadata_url`` is given, a shortcut for demos and tests: account ``acme`` connected to
    that IdP, as its administrator would on the admin pages."""
    import dataclasses
    import secrets
    from datetime import UTC, datetime

    from django.contrib.auth.models import User
    from mysite import sso

    import samljit
    from samljit.integrations.django import DjangoAccountStore
    from samljit.integrations.django.models import SsoProfile

    email = "admin@acme.test"
    names = {"email": email, "first_name": "Acme", "last_name": "Admin"}
    admin, _ = User.objects.get_or_create(username=email, defaults=names)
    if not admin_password:
        admin_password = secrets.token_urlsafe(12)
        print(f"{email}'s password: {admin_password}", file=sys.stderr, flush=True)
    admin.set_password(admin_password)
    admin.save()
    SsoProfile.objects.get_or_create(  # its account and role, as an SSO user's
        user=admin,
        defaults={
            "email": email,
            "account_id": "acme",
            "role": "account_administrator",
            "full_name": "Acme Admin",
            "created_at": datetime.now(UTC),
        },
    )
    if metadata_url:
        fetch = samljit.urllib_fetcher(allow_http=True, allow_private_addresses=True)
        metadata = fetch(metadata_url, timeout=10, max_bytes=10**6)
        acme = dataclasses.replace(sso.new_account("acme"), idp_metadata=metadata)
        DjangoAccountStore().save(acme)


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

    call_command("migrate", verbosity=0)
    prepare(os.environ.get("IDP_METADATA_URL"), os.environ.get("ADMIN_PASSWORD", ""))
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
