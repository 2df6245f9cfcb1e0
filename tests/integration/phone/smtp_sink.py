"""A real SMTP server for the phone-step tests (aiosmtpd): every message it accepts is appended
to the file named on the command line as one JSON line {"from", "to", "data"}.

    python3 smtp_sink.py 127.0.0.1 <port> <file>
"""
import json
import sys
import time

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, path):
        self.path = path

    async def handle_DATA(self, server, session, envelope):
        line = json.dumps({
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        })
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
        return "250 OK"


def main():
    host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    controller = Controller(Sink(path), hostname=host, port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
