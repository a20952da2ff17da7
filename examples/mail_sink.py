"""A real SMTP server on loopback for the demo: every message it receives is saved as
demo-out/mail/NNN-<subject>.eml, so a person can open what finsam sent.

Usage: python examples/mail_sink.py PORT FOLDER   (runs until terminated)
"""

from __future__ import annotations

import re
import signal
import sys
import threading
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class SaveToFolder:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        subject = str(message_from_bytes(envelope.content, policy=policy.default)["Subject"])
        safe = re.sub(r"[^\w.-]+", "-", subject, flags=re.UNICODE).strip("-")[:80]
        with self.lock:
            self.count += 1
            name = f"{self.count:03d}-{safe}.eml"
        (self.folder / name).write_bytes(envelope.content)
        return "250 Message accepted"


def main() -> None:
    port, folder = int(sys.argv[1]), Path(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(SaveToFolder(folder), hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"mail sink listening on 127.0.0.1:{port}, saving to {folder}", flush=True)
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
