"""smtpsink: a real SMTP server (aiosmtpd) that accepts every message and keeps it as an .eml
file in a folder, so the developer can read the reminders Sundhed sends and the tests can count
them. Nothing of Sundhed is imported.

    python -m simulators.smtpsink --port 25770 --folder .data/run/mail
"""

import argparse
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.folder / (name + ".part")
        temporary.write_bytes(envelope.original_content or envelope.content)
        temporary.rename(self.folder / name)  # whole files only
        print(
            f"smtpsink: {envelope.mail_from} -> {', '.join(envelope.rcpt_tos)}: {name}", flush=True
        )
        return "250 Message accepted"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.smtpsink")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=25770)
    parser.add_argument("--folder", default=".data/run/mail")
    args = parser.parse_args()
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(Keep(folder), hostname=args.host, port=args.port)
    controller.start()
    print(f"smtpsink: SMTP on {args.host}:{args.port}, keeping mail in {folder}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
