"""TLS to the IMAP server: certificates are verified unless the config says otherwise."""

from __future__ import annotations

import pytest

from intake.config import MailboxConfig
from intake.errors import MailboxError
from intake.mail.mailbox import connect
from tests.conftest import in_ci
from tests.servers import DovecotServer, dovecot_binary


@pytest.fixture(scope="module")
def dovecot_tls():
    if dovecot_binary() is None and not in_ci():
        pytest.skip("dovecot not installed")
    with DovecotServer(tls=True) as server:
        yield server


def box(server: DovecotServer, monkeypatch, **kwargs) -> MailboxConfig:
    monkeypatch.setenv("INTAKE_TLS_TEST_PASSWORD", "secret")
    return MailboxConfig(
        name="careers",
        host="127.0.0.1",
        username="test",
        password_env="INTAKE_TLS_TEST_PASSWORD",
        **kwargs,
    )


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
def test_self_signed_certificate_is_refused_by_default(dovecot_tls, monkeypatch, mode):
    port = dovecot_tls.tls_port if mode == "implicit" else dovecot_tls.port
    with (
        pytest.raises(MailboxError, match="CERTIFICATE_VERIFY_FAILED"),
        connect(box(dovecot_tls, monkeypatch, tls=mode, port=port)),
    ):
        pass


@pytest.mark.parametrize("mode", ["implicit", "starttls"])
def test_verification_can_be_disabled_explicitly(dovecot_tls, monkeypatch, mode):
    port = dovecot_tls.tls_port if mode == "implicit" else dovecot_tls.port
    config = box(dovecot_tls, monkeypatch, tls=mode, port=port, verify_certificates=False)
    with connect(config) as mailbox:
        assert mailbox.select() > 0


def test_wrong_password_is_a_mailbox_error(dovecot_tls, monkeypatch):
    config = box(dovecot_tls, monkeypatch, tls="none", port=dovecot_tls.port)
    monkeypatch.setenv("INTAKE_TLS_TEST_PASSWORD", "wrong")
    with pytest.raises(MailboxError, match="login failed"), connect(config):
        pass
