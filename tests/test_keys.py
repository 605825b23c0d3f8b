"""load_or_create_key_pair: the SP's own key pair, made once and read back afterwards."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from samljit import ConfigError, load_or_create_key_pair
from samljit.testing import make_certificate


def test_the_first_call_creates_a_private_key_file_and_a_matching_certificate(
    tmp_path: Path,
) -> None:
    key, certificate = load_or_create_key_pair(
        tmp_path / "sp.key", tmp_path / "sp.crt", common_name="app.example.com"
    )
    assert stat.S_IMODE((tmp_path / "sp.key").stat().st_mode) == 0o600
    assert key.key_size == 3072
    assert certificate.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert "app.example.com" in certificate.subject.rfc4514_string()


def test_later_calls_read_the_same_pair_back(tmp_path: Path) -> None:
    files = (tmp_path / "sp.key", tmp_path / "sp.crt")
    key, certificate = load_or_create_key_pair(*files, common_name="sp")
    again_key, again_certificate = load_or_create_key_pair(*files, common_name="sp")
    assert again_certificate == certificate
    assert again_key.private_numbers() == key.private_numbers()


def test_one_file_without_the_other_is_refused_not_replaced(tmp_path: Path) -> None:
    load_or_create_key_pair(tmp_path / "sp.key", tmp_path / "sp.crt", common_name="sp")
    (tmp_path / "sp.crt").unlink()
    with pytest.raises(ConfigError):
        load_or_create_key_pair(tmp_path / "sp.key", tmp_path / "sp.crt", common_name="sp")
    assert not (tmp_path / "sp.crt").exists()


def test_a_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    load_or_create_key_pair(tmp_path / "sp.key", tmp_path / "sp.crt", common_name="sp")
    _, stranger = make_certificate(common_name="someone else")
    (tmp_path / "sp.crt").write_bytes(stranger.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(ConfigError, match="not the certificate"):
        load_or_create_key_pair(tmp_path / "sp.key", tmp_path / "sp.crt", common_name="sp")


def test_a_non_rsa_key_is_refused(tmp_path: Path) -> None:
    key, certificate = make_certificate(key_type="ec")
    (tmp_path / "sp.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "sp.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    with pytest.raises(ConfigError):
        load_or_create_key_pair(tmp_path / "sp.key", tmp_path / "sp.crt", common_name="sp")
