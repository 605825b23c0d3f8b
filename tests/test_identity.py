"""One identity per person (docs/security.md): the rule that turns a NameID or an email
attribute into the user key, and the properties it guarantees.

- Only surrounding ASCII whitespace is trimmed and only ASCII letters are lower-cased: two
  NameIDs are the same user exactly when they differ in nothing else.
- An address that claims to be one (it has an ``@``) but is outside RFC 5321/6531, or that
  Unicode case folding or NFKC would change, is refused (``email_invalid``), never merged.
- A persistent or transient NameID is an opaque ID unless the mapping says otherwise.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samljit import ClaimMapping, Claims, SamlError, normalize_email
from samljit._claims import parse_email
from samljit.errors import EmailInvalid

EMAIL = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
ASCII_WHITESPACE = " \t\r\n\f\v"
SETTINGS = settings(max_examples=400, deadline=None)


def mapping(**settings: Any) -> ClaimMapping:
    return ClaimMapping.from_dict({"accepted_roles": ["developer"], **settings})


def claims(name_id: str, name_id_format: str | None = UNSPECIFIED, **attributes: str) -> Claims:
    values = {name: [value] for name, value in attributes.items()}
    return Claims(
        name_id=name_id, name_id_format=name_id_format, attributes={"role": ["developer"], **values}
    )


def refused(the_mapping: ClaimMapping, the_claims: Claims) -> SamlError:
    with pytest.raises(SamlError) as caught:
        the_mapping.map(the_claims)
    return caught.value


# --- the rule, case by case -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "email"),
    [
        ("ada@acme.test", "ada@acme.test"),
        (" \t Ada.Lovelace@ACME.Test\r\n", "ada.lovelace@acme.test"),
        ("o'brien+sso@acme.test", "o'brien+sso@acme.test"),
        ("ada@mail.eu.acme.test", "ada@mail.eu.acme.test"),
        ("ada@xn--mnchen-3ya.test", "ada@xn--mnchen-3ya.test"),
        ("josé@acme.test", "josé@acme.test"),
        ("José@acme.test", "josé@acme.test"),
        ("用户@acme.test", "用户@acme.test"),
        ("a" * 64 + "@acme.test", "a" * 64 + "@acme.test"),
    ],
    ids=[
        "plain",
        "ASCII case and whitespace",
        "atext punctuation",
        "subdomain",
        "IDN as its A-label",
        "lower-case accented letter",
        "ASCII capital beside an accented letter",
        "CJK local part",
        "64-octet local part",
    ],
)
def test_an_address_is_trimmed_of_ascii_whitespace_and_ascii_lower_cased(
    value: str, email: str
) -> None:
    assert mapping().map(claims(value)).email == email
    assert normalize_email(value) == email


@pytest.mark.parametrize(
    "value",
    [
        "ceo@acme.test\u3000",
        "ceo@acme.test\u00a0",
        "ceo\u0085@acme.test",
        "ceo@acme.test\u2007",
        "\u200bceo@acme.test",
        "c\u200deo@acme.test",
        "\u212aate@acme.test",
        "\uff43eo@acme.test",
        "\U0001d41cda@acme.test",
        "\u017fam@acme.test",
        "\u0131da@acme.test",
        "stra\u00dfe@acme.test",
        "JOS\u00c9@acme.test",
        "jose\u0301@acme.test",
        "\ufb00@acme.test",
        "ceo@\u0430cme.test",
        "ceo@m\u00fcnchen.test",
        "ceo@acme.test.",
        "ceo@acme",
        "ceo@@acme.test",
        "ceo@acme@acme.test",
        '"ceo"@acme.test',
        "ceo.@acme.test",
        "c..eo@acme.test",
        "ceo@[192.0.2.1]",
        "ceo@-acme.test",
        "ceo@acme_corp.test",
        "c eo@acme.test",
        "ceo(comment)@acme.test",
        "@acme.test",
        "ceo@",
        "a" * 65 + "@acme.test",
        "ceo@" + "a" * 64 + ".test",
        "ceo@" + ".".join(["a" * 60] * 5) + ".test",
        "\ue000ceo@acme.test",
        "ceo\U000e0001@acme.test",
    ],
    ids=[
        "ideographic space",
        "no-break space",
        "next line (C1 control)",
        "figure space",
        "zero-width space",
        "zero-width joiner",
        "kelvin sign",
        "fullwidth letter",
        "mathematical bold letter",
        "long s",
        "dotless i",
        "sharp s",
        "upper-case accented letter",
        "decomposed accent (not NFC)",
        "ligature",
        "Cyrillic letter in the domain",
        "non-ASCII domain (not an A-label)",
        "trailing dot",
        "single-label domain",
        "two @",
        "@ in the local part",
        "quoted local part",
        "dot at the end of the local part",
        "doubled dot",
        "address literal",
        "label starting with a hyphen",
        "underscore in the domain",
        "space in the local part",
        "comment",
        "empty local part",
        "empty domain",
        "65-octet local part",
        "64-octet label",
        "longer than 254 octets",
        "private use character",
        "language tag character",
    ],
)
def test_an_address_outside_the_rule_is_refused_as_email_invalid(value: str) -> None:
    """Every value claims to be an address (it has an @): refused, never trimmed, folded, or
    passed over for the next email attribute."""
    err = refused(mapping(), claims(value))
    assert err.code == "email_invalid"
    err = refused(mapping(), claims("a3f9c2d1", PERSISTENT, email=value, mail="ceo@acme.test"))
    assert err.code == "email_invalid"
    assert normalize_email(value) is None


def test_an_invalid_address_quotes_at_most_80_characters() -> None:
    err = refused(mapping(), claims("x" * 500 + "@acme.test"))
    assert err.code == "email_invalid"
    assert err.found == "x" * 80


def test_a_value_without_an_at_sign_is_not_an_address_and_falls_through() -> None:
    assert mapping().map(claims("ada", mail="ada@acme.test")).email == "ada@acme.test"
    assert parse_email("ada\u3000") is None


# --- which NameID is an email -----------------------------------------------------------------


@pytest.mark.parametrize("name_id_format", [EMAIL, UNSPECIFIED, None])
def test_an_address_nameid_of_an_address_format_is_the_email(name_id_format: str | None) -> None:
    the_claims = claims("ada@acme.test", name_id_format, email="other@acme.test")
    assert mapping().map(the_claims).email == "ada@acme.test"


@pytest.mark.parametrize(
    "name_id_format",
    [
        PERSISTENT,
        TRANSIENT,
        "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
        "urn:example:custom",
    ],
)
def test_a_nameid_of_any_other_format_is_opaque(name_id_format: str) -> None:
    the_claims = claims("ada@acme.test", name_id_format, email="other@acme.test")
    assert mapping().map(the_claims).email == "other@acme.test"
    err = refused(mapping(), claims("ada@acme.test", name_id_format))
    assert err.code == "email_missing"


def test_an_opaque_nameid_is_not_validated_as_an_address() -> None:
    """A persistent ID may hold any characters: only the email attribute is checked."""
    the_claims = claims("ceo@acme.test\u3000", PERSISTENT, email="ada@acme.test")
    assert mapping().map(the_claims).email == "ada@acme.test"


@pytest.mark.parametrize("name_id_format", [PERSISTENT, TRANSIENT, EMAIL, None])
def test_name_id_is_email_true_takes_the_nameid_whatever_its_format(
    name_id_format: str | None,
) -> None:
    the_mapping = mapping(name_id_is_email=True)
    the_claims = claims("Ada@acme.test", name_id_format, email="other@acme.test")
    assert the_mapping.map(the_claims).email == "ada@acme.test"


@pytest.mark.parametrize("name_id", ["a3f9c2d1-7b6e", "ceo@acme.test\u3000"])
def test_name_id_is_email_true_refuses_a_nameid_that_is_not_an_address(name_id: str) -> None:
    err = refused(mapping(name_id_is_email=True), claims(name_id, PERSISTENT, email="x@acme.test"))
    assert err.code == "email_invalid"


def test_name_id_is_email_false_never_takes_the_nameid() -> None:
    the_mapping = mapping(name_id_is_email=False)
    the_claims = claims("ada@acme.test", EMAIL, email="other@acme.test")
    assert the_mapping.map(the_claims).email == "other@acme.test"


@pytest.mark.parametrize("value", [True, False, None])
def test_name_id_is_email_round_trips_through_plain_data(value: bool | None) -> None:
    original = mapping(name_id_is_email=value)
    stored = json.loads(json.dumps(original.to_dict()))
    assert stored["name_id_is_email"] is value
    assert ClaimMapping.from_dict(stored) == original


@pytest.mark.parametrize(
    "settings",
    [{"name_id_is_email": "yes"}, {"name_id_is_email": 1}, {"name_id_is_email": True,
                                                           "email_from_name_id": False}],
    ids=["a string", "a number", "contradicts email_from_name_id"],
)  # fmt: skip
def test_an_invalid_name_id_is_email_setting_is_a_configuration_error(
    settings: dict[str, Any],
) -> None:
    with pytest.raises(SamlError) as caught:
        mapping(**settings)
    assert caught.value.code == "configuration_invalid"


# --- account claim ----------------------------------------------------------------------------


def test_an_account_claim_with_values_that_disagree_is_account_mismatch() -> None:
    the_mapping = mapping(account_attributes=["imagekit_id"])
    the_claims = Claims(
        name_id="ada@acme.test",
        attributes={"role": ["developer"], "imagekit_id": ["acme", "globex", "acme"]},
    )
    err = refused(the_mapping, the_claims)
    assert err.code == "account_mismatch"
    assert err.found == ["acme", "globex"]


# --- properties ---------------------------------------------------------------------------------

# Characters that a careless normalization collapses into ASCII, or that look like nothing.
TRICKY = (
    "\u3000\u00a0\u0085\u2007\u2028\u200b\u200d\ufeff\u212a\u212b\u017f\u0131\u0130\u00df"
    "\u00e9\u00c9\u0301\uff41\uff21\U0001d41a\ufb00\u0430\u03c2\u03a3\u1e9e\u2126"
)
LOCAL = st.text(st.sampled_from("abcdeiksKAS.+-_" + TRICKY), min_size=1, max_size=12)
DOMAIN = st.sampled_from(["acme.test", "ACME.test", "eu.acme.test", "acme\u3000.test"])
PAD = st.text(st.sampled_from(ASCII_WHITESPACE + "\u3000\u00a0\u0085\u2007\u200b"), max_size=3)


@st.composite
def name_ids(draw: st.DrawFn) -> str:
    return draw(PAD) + draw(LOCAL) + "@" + draw(DOMAIN) + draw(PAD)


def user_key(name_id: str) -> str | None:
    """The user a NameID logs in as (None: refused)."""
    try:
        return mapping().map(claims(name_id)).email
    except SamlError:
        return None


def same_person(a: str, b: str) -> bool:
    """What the rule allows to be one user: equal up to ASCII case and ASCII whitespace."""
    return ascii_key(a) == ascii_key(b)


def ascii_key(value: str) -> str:
    lower = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
    return value.strip(ASCII_WHITESPACE).translate(lower)


@SETTINGS
@given(name_ids(), name_ids())
def test_two_distinct_nameids_are_one_user_only_up_to_ascii_case_and_whitespace(
    a: str, b: str
) -> None:
    key_a, key_b = user_key(a), user_key(b)
    if key_a is not None and key_a == key_b:
        assert same_person(a, b), (a, b)


@SETTINGS
@given(name_ids(), st.data())
def test_ascii_case_and_whitespace_changes_never_make_another_user(
    a: str, data: st.DataObject
) -> None:
    """The other direction: a NameID re-cased in ASCII or re-padded with ASCII whitespace is
    the same user (or refused the same way)."""
    recased = "".join((c.swapcase() if c.isascii() and data.draw(st.booleans()) else c) for c in a)
    padded = data.draw(st.text(st.sampled_from(ASCII_WHITESPACE), max_size=3))
    assert user_key(padded + recased + padded) == user_key(a)


@SETTINGS
@given(st.text(max_size=300))
def test_any_text_is_an_address_none_or_email_invalid(value: str) -> None:
    """Nothing but EmailInvalid leaves the rule, and what it returns is what normalize_email
    returns."""
    result: str | EmailInvalid | None
    try:
        result = parse_email(value)
    except EmailInvalid as err:
        result = err
    if isinstance(result, EmailInvalid):
        assert result.code == "email_invalid"
        assert normalize_email(value) is None
    else:
        assert result == normalize_email(value)
        assert result is None or "@" in result


def _folds(value: str) -> set[str]:
    return {
        unicodedata.normalize("NFKC", value),
        unicodedata.normalize("NFC", value),
        value.casefold(),
        value.lower(),
        value.upper().lower(),
        value.upper().casefold(),
        unicodedata.normalize("NFKC", value.casefold()),
    }


@SETTINGS
@given(st.one_of(name_ids(), st.text(max_size=80).map(lambda t: t + "@acme.test")))
def test_an_accepted_address_is_left_as_it_is_by_every_unicode_folding(value: str) -> None:
    """So no database collation or later lower() can make two accepted addresses one."""
    email = normalize_email(value)
    if email is not None:
        assert _folds(email) == {email}
        assert normalize_email(email) == email


@SETTINGS
@given(st.text(st.sampled_from("adeimnrst_" + TRICKY), min_size=1, max_size=24))
def test_a_role_is_granted_only_for_its_exact_value(sent: str) -> None:
    the_mapping = ClaimMapping.from_dict(
        {"accepted_roles": ["admin", "developer"], "role_values": {"Admins": "admin"}}
    )
    result: str | SamlError
    try:
        result = the_mapping.map(Claims(name_id="ada@acme.test", attributes={"role": [sent]})).role
    except SamlError as err:
        result = err
    if isinstance(result, SamlError):
        assert result.code == "role_not_accepted"
    else:
        trimmed = sent.strip(ASCII_WHITESPACE)
        granted = {("admin", "admin"), ("Admins", "admin"), ("developer", "developer")}
        assert (trimmed, result) in granted
