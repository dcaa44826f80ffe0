"""A throwaway PostgreSQL cluster (Debian's postgresql) on a free loopback port.

initdb refuses to run as root, so as root the cluster belongs to the `postgres` user
that the Debian package creates. Trust authentication on loopback only; fsync off:
nothing here must survive the test run.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from intake.demo.servers import free_port


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    def __init__(self) -> None:
        self.bin = binaries()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="intake-pg-"))
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def __enter__(self) -> PostgresServer:
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")
        data = self.dir / "data"
        self._run(
            "initdb",
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "-D", str(data), "-o", options, "-l", str(self.dir / "log"), "-w", "start"
        )
        return self

    def __exit__(self, *_exc: object) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def restore(self, dump: Path) -> str:
        """A new database loaded from a plain-SQL pg_dump; its SQLAlchemy URL."""
        url = self.new_database()
        name = url.rsplit("/", 1)[1]
        command = [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"]
        command += ["-p", str(self.port), "-U", "postgres", "-d", name, "-f", str(dump)]
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        return url
