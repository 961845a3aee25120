#!/usr/bin/env python3
"""Clients that pipeline requests and do not read the replies: the http
child reads a client's next request only once its earlier replies have
drained to read-buffer bytes, and drops the client after write-timeout.
Loopback only."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Benjid, Tap, rss_kib  # noqa: E402

tap = Tap()

CONF = """
http read-buffer 4K
http write-timeout PT2S
http max-requests-per-connection 1000
"""

SYMBOLS = ",".join(f"S{i:02d}" for i in range(50))
REQUEST = (f"GET /api/quotes?symbols={SYMBOLS} HTTP/1.1\r\n"
           "Host: x\r\n\r\n").encode()
CLIENTS = 10
PIPELINED = 1000
# The replies of PIPELINED requests, about 9 KiB each, exceed what the
# kernel buffers for a socket (tcp_wmem, 4 MiB by default). Without the
# bound, the rest of CLIENTS x PIPELINED replies would take about 50 MiB
# in the http child.
RSS_GROWTH_MAX_KIB = 16 * 1024


def stalled_client(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(REQUEST * PIPELINED)
    return s


def read_all(s, seconds, replies=None):
    """Reads until the server closes, seconds pass or the given number of
    replies arrived; returns the bytes."""
    data = bytearray()
    s.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if replies is not None and data.count(b"HTTP/1.1 ") >= replies:
            break
        try:
            chunk = s.recv(1 << 16)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return bytes(data)


def main(obj):
    d = Benjid(obj, conf_extra=CONF)
    clients = []
    try:
        d.start()
        pid = d.children()["http"]
        warm = socket.create_connection(("127.0.0.1", d.port))
        warm.sendall(REQUEST)
        first = read_all_reply(warm)
        tap.ok(first.startswith(b"HTTP/1.1 200"), "batch quote answered",
               first[:80])
        warm.close()

        before = rss_kib(pid)
        clients = [stalled_client(d.port) for _ in range(CLIENTS)]
        time.sleep(2.0)
        during = rss_kib(pid)
        if "asan" in open(f"/proc/{pid}/maps").read():
            # AddressSanitizer keeps freed memory in its quarantine (256
            # MiB by default), so RSS does not show what the child keeps.
            tap.skip(f"http child RSS {before} KiB before, {during} KiB "
                     f"with {CLIENTS} clients not reading",
                     "AddressSanitizer quarantine")
        else:
            tap.ok(during - before < RSS_GROWTH_MAX_KIB,
                   f"http child RSS {before} KiB before, {during} KiB with "
                   f"{CLIENTS} clients not reading")

        # A client that reads again gets every reply, in order.
        data = read_all(clients[0], 30, PIPELINED)
        tap.eq(data.count(b"HTTP/1.1 200 OK"), PIPELINED,
               "reading client: every pipelined request answered")

        # One that never reads is dropped after write-timeout.
        time.sleep(2.5)
        data = read_all(clients[1], 10)
        tap.ok(data.count(b"HTTP/1.1 200 OK") < PIPELINED,
               "client not reading: dropped before every reply",
               data.count(b"HTTP/1.1 200 OK"))

        probe = socket.create_connection(("127.0.0.1", d.port))
        probe.sendall(REQUEST)
        tap.ok(read_all_reply(probe).startswith(b"HTTP/1.1 200"),
               "other clients still answered")
        probe.close()
        tap.eq(d.children()["http"], pid, "http child never restarted")
    finally:
        for s in clients:
            s.close()
        if tap.failed:
            for line in d.log_text().splitlines()[-20:]:
                print(f"# {line}")
        d.cleanup()
    tap.done()


def read_all_reply(s):
    """Reads one reply with a Content-Length body."""
    data = bytearray()
    s.settimeout(10)
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


if __name__ == "__main__":
    main(sys.argv[1])
