"""The Django adapter end to end, through Django's test client: a signed response of
``samljit.testing.TestIdP`` to ``/sso/acme/acs`` provisions a ``django.contrib.auth`` user
(the role as a Group) and logs them in; failures get the generic page; only ACS and SLO go
without a CSRF token; SP-initiated login and Single Logout both ways."""

from __future__ import annotations

import base64
import logging
import re
import urllib.parse
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.contrib.auth.models import Group, User
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.test.utils import override_settings
from lxml import etree

import samljit
from samljit import NameID, SPConfig
from samljit.integrations.django import DjangoSessionIssuer, current_request
from samljit.integrations.django.models import SsoAccount, SsoProfile
from samljit.integrations.django.views import get_service
from samljit.logout import build_logout_request, build_logout_response

from ..conftest import NOW
from ..sp_flows import NS, params, redirect_message, verify_query_signature
from .conftest import SP, Site, build_service

EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
H1 = re.compile(rb"<h1>(.*?)</h1>")


def h1(response: Any) -> bytes:
    found = H1.search(response.content)
    assert found is not None, response.content
    return found.group(1)


def post_response(client: Client, form_value: str, **extra: str) -> Any:
    return client.post("/sso/acme/acs", {"SAMLResponse": form_value, **extra})


def logged_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def ada() -> User:
    return User.objects.get(username="ada@acme.test")


def group_names(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def written() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        SsoProfile.objects.count(),
        Group.objects.count(),
        # a logged-in session row would carry _auth_user_id
        sum(1 for _ in _sessions_with_a_user()),
    )


def _sessions_with_a_user() -> Any:
    from django.contrib.sessions.models import Session

    for session in Session.objects.all():
        if "_auth_user_id" in session.get_decoded():
            yield session


# --- IdP-initiated login --------------------------------------------------------------------


def test_a_signed_response_creates_a_django_user_in_the_roles_group_and_logs_them_in(
    site: Site, client: Client
) -> None:
    response = post_response(client, site.respond().form_value)
    assert response.status_code == 303
    assert response["Location"] == "/"
    user = ada()
    assert (user.email, user.first_name, user.last_name) == ("ada@acme.test", "Ada", "Lovelace")
    assert not user.has_usable_password()
    assert group_names(user) == ["developer"]
    profile = user.sso_profile
    assert (profile.account_id, profile.full_name, profile.role) == (
        "acme",
        "Ada Lovelace",
        "developer",
    )
    assert profile.last_sso_login == NOW
    assert logged_in_user_id(client) == str(user.pk)
    assert client.get("/").content == b"home of ada@acme.test"
    assert client.session["samljit"]["email"] == "ada@acme.test"
    assert client.session["samljit"]["account_id"] == "acme"


def test_a_second_login_with_another_role_moves_the_group_and_updates_the_name(
    site: Site, client: Client
) -> None:
    post_response(client, site.respond().form_value)
    Group.objects.create(name="staff-picked-by-the-app").user_set.add(ada())
    second = site.respond(attributes={"full_name": ["Ada King Lovelace"], "role": ["finance"]})
    response = post_response(Client(), second.form_value)
    assert response.status_code == 303
    user = ada()
    assert group_names(user) == ["finance", "staff-picked-by-the-app"]
    assert (user.first_name, user.last_name) == ("Ada King", "Lovelace")
    assert user.sso_profile.full_name == "Ada King Lovelace"
    assert user.sso_profile.role == "finance"
    assert User.objects.count() == 1


def test_an_unaccepted_role_gets_the_generic_page_a_log_line_and_writes_nothing(
    site: Site, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    before = written()
    with caplog.at_level(logging.WARNING, logger="samljit.integrations"):
        response = post_response(
            client,
            site.respond(attributes={"full_name": ["Ada"], "role": ["intern"]}).form_value,
        )
    assert response.status_code == 403
    assert h1(response) == b"Single sign-on failed"
    assert b"intern" not in response.content
    [record] = [r for r in caplog.records if r.name == "samljit.integrations"]
    assert record.samljit_code == "role_not_accepted"  # type: ignore[attr-defined]
    assert "code=role_not_accepted" in record.getMessage()
    assert record.samljit_reference.encode() in response.content  # type: ignore[attr-defined]
    assert written() == before == (0, 0, 0, 0)
    assert logged_in_user_id(client) is None


def test_a_local_django_user_is_not_taken_over_by_an_sso_login(
    site: Site, client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """A user the app created itself (no SsoProfile) is never linked by the IdP's word."""
    local = User.objects.create_user("admin", email="Ada@acme.test", password="secret")
    with caplog.at_level(logging.WARNING, logger="samljit.integrations"):
        response = post_response(client, site.respond().form_value)
    assert response.status_code == 403
    assert [r.samljit_code for r in caplog.records if hasattr(r, "samljit_code")] == [
        "account_mismatch"
    ]
    assert SsoProfile.objects.count() == 0
    assert list(User.objects.all()) == [local]
    assert logged_in_user_id(client) is None


def test_the_first_posted_value_of_a_field_is_the_one_read(site: Site, client: Client) -> None:
    response = client.post(
        "/sso/acme/acs", {"SAMLResponse": [site.respond().form_value, "garbage"]}
    )
    assert response.status_code == 303


def test_an_urlencoded_post_hands_the_service_only_the_saml_fields(
    site: Site, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As an IdP's auto-submitting form posts it; other fields are not even decoded."""
    service = get_service()
    forms: list[dict[str, str]] = []
    complete_login = service.complete_login

    def recorded(form: Any, **options: Any) -> Any:
        forms.append(dict(form))
        return complete_login(form, **options)

    monkeypatch.setattr(service, "complete_login", recorded)
    form_value = site.respond().form_value
    fields = {"SAMLResponse": form_value, "RelayState": "/", "padding": "x%20" * 100}
    response = client.post(
        "/sso/acme/acs",
        urllib.parse.urlencode(fields),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 303
    assert forms == [{"SAMLResponse": form_value, "RelayState": "/"}]


def test_the_acs_takes_only_post(site: Site, client: Client) -> None:
    assert client.get("/sso/acme/acs").status_code == 405


def test_a_session_issuer_outside_the_views_is_a_configuration_error(site: Site) -> None:
    assert current_request() is None
    record = samljit.UserRecord(
        user_id="1", email="a@acme.test", account_id="acme", full_name=None, role="developer"
    )
    with pytest.raises(samljit.ConfigError):
        DjangoSessionIssuer().issue(record, context=None)  # type: ignore[arg-type]


# --- the service setting --------------------------------------------------------------------

CALLS: list[int] = []


def factory() -> samljit.LoginService:
    CALLS.append(1)
    return build_service(make_certificate_pair())


def make_certificate_pair() -> Any:
    from samljit.testing import make_certificate

    return make_certificate(common_name="factory SP")


def test_the_service_setting_may_name_a_factory_that_is_called_once() -> None:
    CALLS.clear()
    with override_settings(SAMLJIT_SERVICE=f"{__name__}.factory"):
        first = get_service()
        assert get_service() is first
    assert CALLS == [1]


@pytest.mark.parametrize("setting", [None, "collections.OrderedDict", 42])
def test_a_service_setting_that_gives_no_login_service_is_refused(setting: object) -> None:
    with override_settings(SAMLJIT_SERVICE=setting), pytest.raises(ImproperlyConfigured):
        get_service()


# --- CSRF: only ACS and SLO go without a token ------------------------------------------------


@pytest.fixture
def strict() -> Client:
    return Client(enforce_csrf_checks=True)


def test_the_acs_needs_no_csrf_token(site: Site, strict: Client) -> None:
    response = post_response(strict, site.respond().form_value)
    assert response.status_code == 303
    assert logged_in_user_id(strict) == str(ada().pk)


def test_the_slo_needs_no_csrf_token(site: Site, strict: Client) -> None:
    post_response(strict, site.respond(session_index="_s1").form_value)
    response = strict.post("/sso/acme/slo", idp_logout_post(site, session_index="_s1"))
    assert response.status_code == 200
    assert b"SAMLResponse" in response.content
    assert logged_in_user_id(strict) is None


def test_the_sso_page_post_without_a_csrf_token_is_refused(site: Site, strict: Client) -> None:
    response = strict.post("/sso/", {"email": "ada@acme.test"})
    assert response.status_code == 403
    assert "Location" not in response


def test_the_sso_page_post_with_its_csrf_token_goes_to_the_idp(site: Site, strict: Client) -> None:
    page = strict.get("/sso/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    response = strict.post(
        "/sso/", {"email": "ada@acme.test", "csrfmiddlewaretoken": token.group(1).decode()}
    )
    assert response.status_code == 303
    assert response["Location"].startswith(site.idp.sso_url + "?SAMLRequest=")


def test_the_logout_post_without_a_csrf_token_is_refused(site: Site, strict: Client) -> None:
    post_response(strict, site.respond().form_value)
    response = strict.post("/sso/logout")
    assert response.status_code == 403
    assert logged_in_user_id(strict) == str(ada().pk)


def _csrf_token(client: Client) -> str:
    page = client.get("/sso/")
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content)
    assert token is not None
    return token.group(1).decode()


def test_a_cross_site_logout_post_is_refused_even_with_a_token(site: Site, strict: Client) -> None:
    """Django checks the Origin too: a page of another site cannot post the logout form."""
    post_response(strict, site.respond().form_value)
    session_key = strict.session.session_key
    response = strict.post(
        "/sso/logout",
        {"csrfmiddlewaretoken": _csrf_token(strict)},
        HTTP_ORIGIN="https://evil.example",
    )
    assert response.status_code == 403
    assert "Location" not in response
    assert logged_in_user_id(strict) == str(ada().pk)
    assert strict.session.session_key == session_key


def test_a_same_site_logout_post_with_the_token_ends_the_session(
    site: Site, strict: Client
) -> None:
    post_response(strict, site.respond(session_index="_s1").form_value)
    session_key = strict.session.session_key
    response = strict.post(
        "/sso/logout",
        {"csrfmiddlewaretoken": _csrf_token(strict)},
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 303
    assert response["Location"].startswith(site.idp.slo_url + "?SAMLRequest=")
    assert logged_in_user_id(strict) is None
    strict.cookies["sessionid"] = session_key  # a copy of the cookie taken before logout
    assert strict.get("/").content == b"home of AnonymousUser"


def test_django_keeps_sessions_server_side_with_an_opaque_cookie(
    site: Site, client: Client
) -> None:
    from django.contrib.sessions.models import Session

    post_response(client, site.respond(session_index="_s1").form_value)
    cookie = client.cookies["sessionid"].value
    assert re.fullmatch(r"[a-z0-9]{32}", cookie)  # the session key, nothing else
    kept = Session.objects.get(session_key=cookie).get_decoded()
    assert (kept["samljit"]["email"], kept["samljit"]["session_index"]) == ("ada@acme.test", "_s1")


# --- SP metadata ----------------------------------------------------------------------------


def test_the_metadata_endpoint_serves_the_sp_metadata(site: Site, client: Client) -> None:
    response = client.get("/sso/acme/metadata")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/samlmetadata+xml"
    root = etree.fromstring(response.content)
    assert root.get("entityID") == "http://testserver/sso/acme/metadata" == SP.entity_id
    [acs] = root.findall(".//md:AssertionConsumerService", NS)
    assert acs.get("Location") == "http://testserver/sso/acme/acs"
    assert {e.get("Location") for e in root.findall(".//md:SingleLogoutService", NS)} == {
        "http://testserver/sso/acme/slo"
    }


def test_the_metadata_of_an_account_without_sso_is_the_generic_page(
    site: Site, client: Client
) -> None:
    response = client.get("/sso/initech/metadata")
    assert response.status_code == 403
    assert h1(response) == b"Single sign-on failed"


# --- SP-initiated login ---------------------------------------------------------------------


def test_the_sso_page_asks_for_the_email_and_keeps_next(site: Site, client: Client) -> None:
    response = client.get("/sso/?next=/reports")
    assert response.status_code == 200
    assert b'<form method="post" action="/sso/">' in response.content
    assert b'name="email"' in response.content
    assert b'<input type="hidden" name="next" value="/reports">' in response.content
    assert b'name="csrfmiddlewaretoken"' in response.content


def test_sp_initiated_login_from_the_sso_page_logs_the_user_in(site: Site, client: Client) -> None:
    response = client.post("/sso/", {"email": "Ada@ACME.test", "next": "/reports"})
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith(site.idp.sso_url + "?SAMLRequest=")
    request = redirect_message(location)
    assert request.get("AssertionConsumerServiceURL") == SP.acs_url
    answer = site.respond(in_response_to=request.get("ID"))
    done = post_response(client, answer.form_value)
    assert done.status_code == 303
    assert done["Location"] == "/reports"
    assert logged_in_user_id(client) == str(ada().pk)


def test_the_login_endpoint_starts_an_sp_initiated_login(site: Site, client: Client) -> None:
    response = client.get("/sso/acme/login?next=/x")
    assert response.status_code == 303
    request = redirect_message(response["Location"])
    answer = site.respond(in_response_to=request.get("ID"))
    assert post_response(client, answer.form_value)["Location"] == "/x"


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("post", "/sso/", {"email": "nobody@unknown.test"}),
        ("get", "/sso/initech/login", None),
    ],
    ids=["discovery", "login"],
)
def test_a_login_that_cannot_start_gets_the_generic_page(
    site: Site, client: Client, method: str, path: str, data: Any
) -> None:
    response = getattr(client, method)(path, data)
    assert response.status_code == 403
    assert h1(response) == b"Single sign-on failed"


# --- Single Logout --------------------------------------------------------------------------


def idp_side(site: Site) -> SPConfig:
    """The IdP as a message sender: samljit's builders with the IdP's entity ID as Issuer."""
    return SPConfig(entity_id=site.idp.entity_id, acs_url="https://idp.example.test/unused")


def _sign_query(site: Site, pairs: list[tuple[str, str]]) -> str:
    """A Redirect-binding query signed over exactly these (already encoded) octets."""
    pairs = [*pairs, ("SigAlg", "http%3a%2f%2fwww.w3.org%2f2001%2f04%2fxmldsig-more%23rsa-sha256")]
    signed = "&".join(f"{name}={value}" for name, value in pairs)
    key = site.idp.key
    assert isinstance(key, rsa.RSAPrivateKey)
    signature = key.sign(signed.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signed + "&Signature=" + urllib.parse.quote(base64.b64encode(signature), safe="")


def _deflate(xml: bytes) -> str:
    import zlib

    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode("ascii")


def idp_logout_query(site: Site, *, session_index: str) -> str:
    """The IdP's LogoutRequest by Redirect, its query percent-encoded in lower case: a
    signature over the raw query verifies only if the SP reads the query exactly as sent."""
    _, xml = build_logout_request(
        sp=idp_side(site),
        destination=SP.slo_url or "",
        name_id=NameID(value="ada@acme.test", format=EMAIL_FORMAT),
        session_index=session_index,
        now=NOW,
    )
    value = urllib.parse.quote(_deflate(xml), safe="")
    value = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), value)
    return _sign_query(site, [("SAMLRequest", value), ("RelayState", "r%2f1")])


def idp_logout_post(site: Site, *, session_index: str) -> dict[str, str]:
    _, xml = build_logout_request(
        sp=idp_side(site),
        destination=SP.slo_url or "",
        name_id=NameID(value="ada@acme.test", format=EMAIL_FORMAT),
        session_index=session_index,
        now=NOW,
        signing_key=site.idp.key,
        signing_certificate=site.idp.certificate,
    )
    return {"SAMLRequest": base64.b64encode(xml).decode("ascii")}


def test_idp_initiated_logout_by_redirect_ends_the_session_and_answers_signed(
    site: Site, client: Client, sp_pair: Any
) -> None:
    post_response(client, site.respond(session_index="_s1").form_value)
    assert logged_in_user_id(client) is not None
    response = client.get("/sso/acme/slo?" + idp_logout_query(site, session_index="_s1"))
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith(site.idp.slo_url + "?SAMLResponse=")
    verify_query_signature(location, sp_pair[1])
    assert params(location)["RelayState"] == "r/1"
    answer = redirect_message(location, "SAMLResponse")
    assert answer.find("samlp:Status/samlp:StatusCode", NS).get("Value").endswith(":Success")
    assert logged_in_user_id(client) is None
    assert client.get("/").content == b"home of AnonymousUser"


def test_idp_initiated_logout_of_another_session_leaves_this_one(
    site: Site, client: Client
) -> None:
    post_response(client, site.respond(session_index="_s1").form_value)
    response = client.get("/sso/acme/slo?" + idp_logout_query(site, session_index="_other"))
    assert response.status_code == 303
    assert logged_in_user_id(client) == str(ada().pk)


def test_an_unsigned_logout_request_is_the_generic_page(site: Site, client: Client) -> None:
    post_response(client, site.respond(session_index="_s1").form_value)
    query = idp_logout_query(site, session_index="_s1").partition("&SigAlg=")[0]
    response = client.get("/sso/acme/slo?" + query)
    assert response.status_code == 403
    assert logged_in_user_id(client) is not None


def test_sp_initiated_logout_ends_the_session_then_the_idps(
    site: Site, client: Client, sp_pair: Any
) -> None:
    post_response(client, site.respond(session_index="_s1").form_value)
    response = client.post("/sso/logout")
    assert logged_in_user_id(client) is None
    assert "samljit" not in client.session
    assert response.status_code == 303
    location = response["Location"]
    assert location.startswith(site.idp.slo_url + "?SAMLRequest=")
    verify_query_signature(location, sp_pair[1])
    request = redirect_message(location)
    assert request.findtext("saml:NameID", namespaces=NS) == "ada@acme.test"
    assert request.findtext("samlp:SessionIndex", namespaces=NS) == "_s1"
    xml = build_logout_response(
        sp=idp_side(site),
        destination=SP.slo_url or "",
        in_response_to=request.get("ID") or "",
        now=NOW,
        signing_key=site.idp.key,
        signing_certificate=site.idp.certificate,
    )
    done = client.post("/sso/acme/slo", {"SAMLResponse": base64.b64encode(xml).decode()})
    assert done.status_code == 303
    assert done["Location"] == "/"


def test_logout_without_an_sso_login_just_goes_home(site: Site, client: Client) -> None:
    response = client.post("/sso/logout")
    assert (response.status_code, response["Location"]) == (303, "/")


def test_logout_stays_local_when_the_idp_cannot_be_told(
    site: Site, client: Client, sp_pair: Any, caplog: pytest.LogCaptureFixture
) -> None:
    post_response(client, site.respond().form_value)
    with (
        override_settings(SAMLJIT_SERVICE=build_service(sp_pair, sp_key=None), SAMLJIT_HOME="/bye"),
        caplog.at_level(logging.INFO, logger="samljit.integrations"),
    ):
        response = client.post("/sso/logout")
    assert (response.status_code, response["Location"]) == (303, "/bye")
    assert logged_in_user_id(client) is None
    assert "code=configuration_invalid" in caplog.text


def test_the_account_store_rows_back_the_service(site: Site) -> None:
    assert list(SsoAccount.objects.values_list("account_id", "idp_entity_id")) == [
        ("acme", site.idp.entity_id)
    ]
