"""A throwaway Dovecot (Debian's dovecot-imapd) for the CI lane; see ../shared/DOVECOT.md.

Runs in the foreground from a temp dir with a passwd-file userdb and maildir storage,
on a free loopback port, as root (CI) or as an ordinary user.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from pathlib import Path

from intake.demo.servers import ImapAccount, free_port, stop_process, wait_for_greeting
from intake.errors import IntakeError

USERS = ("careers", "interns", "test")
PASSWORD = "secret"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = intake-test-{port}
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
first_valid_uid = {first_uid}
first_valid_gid = {first_gid}
mail_location = maildir:{dir}/mail/%u
mail_uid = {mail_user}
mail_gid = {mail_group}
mail_privileged_group =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/users
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service auth-worker {{
  user = $default_internal_user
}}
protocol imap {{
  mail_max_userip_connections = 100
}}
"""


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if Path(p).exists()), None
    )


def _identity() -> dict[str, object]:
    """Users Dovecot runs as: Debian's system users as root, ourselves otherwise."""
    if os.geteuid() == 0:
        mail = pwd.getpwnam("nobody")
        return {
            "login_user": "dovenull",
            "internal_user": "dovecot",
            "internal_group": "dovecot",
            "mail_user": "nobody",
            "mail_group": grp.getgrgid(mail.pw_gid).gr_name,
            "first_uid": min(mail.pw_uid, pwd.getpwnam("dovecot").pw_uid),
            "first_gid": min(mail.pw_gid, grp.getgrnam("dovecot").gr_gid),
            "owner": (mail.pw_uid, mail.pw_gid),
        }
    me = pwd.getpwuid(os.getuid())
    group = grp.getgrgid(os.getgid()).gr_name
    return {
        "login_user": me.pw_name,
        "internal_user": me.pw_name,
        "internal_group": group,
        "mail_user": me.pw_name,
        "mail_group": group,
        "first_uid": me.pw_uid,
        "first_gid": os.getgid(),
        "owner": None,
    }


class DovecotServer:
    """Dovecot in the foreground; `account(user)` gives credentials for one of USERS."""

    def __init__(self, *, tls: bool = False) -> None:
        binary = dovecot_binary()
        if binary is None:
            raise IntakeError("dovecot is not installed (apt-get install dovecot-imapd)")
        self.binary = binary
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.dir = Path(tempfile.mkdtemp(prefix="intake-dovecot-"))
        self._proc: subprocess.Popen | None = None

    def account(self, user: str = "test") -> ImapAccount:
        return ImapAccount("127.0.0.1", self.port, user, PASSWORD)

    def _write_config(self) -> Path:
        ident = _identity()
        owner = ident.pop("owner")
        self.dir.chmod(0o755)  # mkdtemp's 0700 hides the users file from Dovecot's auth user
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir()
        if owner:
            os.chown(self.dir / "mail", *owner)
        (self.dir / "users").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}::::::\n" for u in USERS))
        config = self.dir / "dovecot.conf"
        ssl = self._self_signed_certificate() if self.tls_port else "ssl = no"
        config.write_text(
            CONFIG.format(dir=self.dir, port=self.port, tls_port=self.tls_port, ssl=ssl, **ident)
        )
        return config

    def _self_signed_certificate(self) -> str:
        """A throwaway key and certificate for localhost: STARTTLS and IMAPS both use it."""
        key, cert = self.dir / "key.pem", self.dir / "cert.pem"
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )
        return f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"

    def __enter__(self) -> DovecotServer:
        self._write_config()
        self.start()
        return self

    def start(self) -> None:
        """Start the server (again, after `stop`: the same port, mail, UIDVALIDITY and UIDs)."""
        self._proc = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.dir / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: `stop` ends the imap processes too
        )
        try:
            wait_for_greeting("127.0.0.1", self.port)
        except IntakeError as exc:
            log = self.dir / "dovecot.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
            self.__exit__()
            raise IntakeError(f"dovecot did not start: {exc}\n{tail}") from None

    def stop(self) -> None:
        """Stop the server and every process it started (open connections are cut), keeping
        its mail."""
        if self._proc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGTERM)
            stop_process(self._proc)
            self._proc = None

    def __exit__(self, *_exc: object) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Proxy:
    """A TCP proxy on loopback in front of a real server, for faults the network makes:
    `asked`/`answered` see (and may cut short) each chunk from the client and from the
    server; once `cut` is set both sides of every connection are closed."""

    def __init__(self, port: int) -> None:
        self.upstream, self.cut = port, threading.Event()
        self.connections: list[socket.socket] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def asked(self, data: bytes) -> bytes:
        return data

    def answered(self, data: bytes) -> bytes:
        return data

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            self.connections += [client, server]
            for args in ((client, server, self.asked), (server, client, self.answered)):
                threading.Thread(target=self._pump, args=args, daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, watch) -> None:
        with contextlib.suppress(OSError):
            while not self.cut.is_set() and (data := source.recv(65536)):
                sink.sendall(watch(data))
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def sever(self) -> None:
        """Break every open connection now, as a network failure does; new ones pass."""
        for end in self.connections:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()
