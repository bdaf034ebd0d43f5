"""An SMTP sink for benchmarks, in a process of its own: accepts every message on 127.0.0.1 and counts them.

    .venv/bin/python benchmarks/smtp_sink.py --port 8025 --count-file /tmp/count

On SIGTERM or SIGINT it writes "<messages> <bytes>" to the count file and exits.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Counter:
    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.count += 1
        self.bytes += len(envelope.content or b"")
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count-file", type=Path, required=True)
    args = parser.parse_args()
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=args.port)
    controller.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()
    args.count_file.write_text(f"{counter.count} {counter.bytes}\n")


if __name__ == "__main__":
    main()
