"""`finsam web` as a real process on a free port of loopback, for the tests that need
uvicorn itself (its proxy headers) or more than one process on one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from smtp_sink import free_port

FINSAM = str(Path(sys.executable).parent / "finsam")
WAIT = 60.0  # seconds for another process to do its part (starting, queuing): not a timing test


def wait_for(check: Callable[[], Any], what: str) -> Any:
    """Ask `check` until it answers something true; fail naming what never came."""
    deadline = time.monotonic() + WAIT
    while not (found := check()):
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT:.0f} s for {what}")
        time.sleep(0.05)
    return found


@contextmanager
def serving(env: dict[str, str], log: Path, *args: str) -> Iterator[str]:
    """`finsam web --port P ARGS` with `env` (the FINSAM_* of this process left out);
    its base URL while it answers /healthz; stopped with Ctrl-C afterwards."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FINSAM_")}
    with log.open("wb") as out:
        server = subprocess.Popen(
            [FINSAM, "web", "--port", str(port), *args],
            env={**clean, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: _healthy(url, server, log), f"{url}/healthz to answer 200")
        yield url
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> bool:
    if server.poll() is not None:
        pytest.fail(f"finsam web exited with {server.returncode}:\n{log.read_text()}")
    try:
        return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False
