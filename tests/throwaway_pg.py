"""A throwaway PostgreSQL server, for the tests (tests/conftest.py) and the benchmarks.

Started from the machine's PostgreSQL programs (initdb, pg_ctl), as the `postgres`
user when running as root, on a free port, its files in memory (/dev/shm) where the
machine has it, durability off (nothing of it outlives the run); stopped and removed
by `stop`.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class NoPostgres(Exception):
    """No server could be had here; the message says why."""


def pg_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def memory_dir() -> str | None:
    """/dev/shm when there is one: a server whose files live in memory creates and drops
    a database per test some 40 times faster than one on disk."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One server; `admin` is the URL of its `postgres` database."""

    def __init__(self) -> None:
        initdb, pg_ctl = pg_program("initdb"), pg_program("pg_ctl")
        if not (initdb and pg_ctl):
            raise NoPostgres("no PostgreSQL programs (initdb, pg_ctl) on this machine")
        as_root = os.geteuid() == 0
        self.prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
        self.pg_ctl = pg_ctl
        self.base = Path(tempfile.mkdtemp(prefix="finsam-pg-", dir=memory_dir()))
        self.data = self.base / "data"
        if as_root:
            shutil.chown(self.base, "postgres", "postgres")
        try:
            subprocess.run(
                [*self.prefix, initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--locale=C", "--no-sync"],
                check=True, capture_output=True,
            )  # fmt: skip
            port = self._start()
        except subprocess.CalledProcessError as exc:
            log = self.base / "log"
            text = log.read_text() if log.exists() else ""
            shutil.rmtree(self.base, ignore_errors=True)
            raise NoPostgres(f"the throwaway server did not start: {exc.stderr!r} {text}") from None
        self.admin = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"

    def _start(self) -> int:
        """Start the server on a free port; the port.

        Each pytest-xdist worker starts a server of its own, and a port found free
        may be taken before the server binds it (by another worker's server, say):
        then it tries another port.
        """
        log = self.base / "log"
        for _ in range(5):
            port = free_port()
            started = subprocess.run(
                [*self.prefix, self.pg_ctl, "-D", str(self.data), "-l", str(log), "-w",
                 "-t", "60", "-o",
                 f"-p {port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                 "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60",
                 "start"],
                capture_output=True, text=True,
            )  # fmt: skip
            if started.returncode == 0:
                return port
            text = log.read_text() if log.exists() else ""
            if "could not bind" not in text:
                break
            log.unlink()
        raise subprocess.CalledProcessError(
            started.returncode, started.args, started.stdout, started.stderr
        )

    def url(self, name: str) -> str:
        """The URL of database `name` on this server."""
        return self.admin.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        subprocess.run(
            [*self.prefix, self.pg_ctl, "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.base, ignore_errors=True)
