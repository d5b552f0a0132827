"""Deliberately broken "servers" for testing the harness: they ignore the app and
misbehave in one way each. Every mode stops by itself after ``--lifetime`` seconds.

    python tests/broken_server.py MODE --host H --port P --app APP

fixed         answer every request with the same wrong 200 response (keep-alive)
close         accept and close every connection at once
silent        accept, read, never answer
never-listen  run without ever listening
crash-on-3    answer like ``fixed`` and exit with status 3 on the third request
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time

FIXED = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nwrong"


def serve(conn: socket.socket, mode: str, counter: list[int]) -> None:
    conn.settimeout(30)
    buffer = b""
    with conn:
        if mode == "close":
            return
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            if mode == "silent":
                continue
            buffer += data
            while b"\r\n\r\n" in buffer:
                _, buffer = buffer.split(b"\r\n\r\n", 1)
                buffer = b""  # bodies are not parsed: this server is wrong on purpose
                counter[0] += 1
                if mode == "crash-on-3" and counter[0] == 3:
                    sys.stderr.write("crash-on-3: exiting on the third request\n")
                    sys.stderr.flush()
                    import os

                    os._exit(3)
                conn.sendall(FIXED)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["fixed", "close", "silent", "never-listen",
                                         "crash-on-3"])
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--lifetime", type=float, default=300.0)
    args = parser.parse_args()
    sys.stderr.write(f"broken server ({args.mode}) for {args.app}\n")
    sys.stderr.flush()
    deadline = time.monotonic() + args.lifetime
    if args.mode == "never-listen":
        while time.monotonic() < deadline:
            time.sleep(0.1)
        return
    listener = socket.create_server((args.host, args.port))
    listener.settimeout(0.5)
    counter = [0]
    while time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        threading.Thread(target=serve, args=(conn, args.mode, counter), daemon=True).start()


if __name__ == "__main__":
    main()
