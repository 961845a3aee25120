#!/usr/bin/env python3
"""A fake AlphaVantage server for the tests, on 127.0.0.1 only.

GET /query?function=GLOBAL_QUOTE&symbol=S&apikey=K answers in the real
GLOBAL_QUOTE format: the reply files in regress/data/alphavantage for IBM,
BRK-B (also BRK.B) and VOO, an empty "Global Quote" for symbols that start
with NOSUCH, and a made-up quote for any other symbol.

Tests change its behaviour over plain HTTP on the same port:

  GET /_control?mode=M&times=N&delay=S  serve mode M for the next N calls
                                        (all calls when times is absent),
                                        each after S seconds
  GET /_count                           {"calls": n, "last_symbol": ...,
                                        "last_apikey": ...}
  GET /_reset                           back to quotes, counter at 0

Modes: quote, unknown, note, information, invalid_key, invalid_call,
truncated, html502 (the HTML page with status 502), error503, status429,
bad_price, oversized (a chunked body of 1 MiB), redirect (302 to /query).

With --cert and --key it speaks TLS only.
"""

import argparse
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data",
                    "alphavantage")

FIXTURES = {
    "IBM": "global_quote_ibm.json",
    "BRK-B": "global_quote_brk_b.json",
    "BRK.B": "global_quote_brk_b.json",
    "VOO": "global_quote_negative_change.json",
}

MODE_FILES = {
    "unknown": ("global_quote_unknown_symbol.json", 200),
    "note": ("rate_limit_note.json", 200),
    "information": ("rate_limit_information.json", 200),
    "invalid_key": ("error_invalid_key.json", 200),
    "invalid_call": ("error_invalid_call.json", 200),
    "truncated": ("truncated_body.json", 200),
    "html502": ("gateway_error.html", 502),
}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.calls = 0
        self.mode = "quote"
        self.times = None
        self.delay = 0.0
        self.last_symbol = None
        self.last_apikey = None

    def next_mode(self):
        """Counts one provider call and returns (mode, delay) for it."""
        with self.lock:
            self.calls += 1
            mode = self.mode
            if self.times is not None:
                self.times -= 1
                if self.times <= 0:
                    self.mode, self.times = "quote", None
            return mode, self.delay


STATE = State()


def read_fixture(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def made_up_quote(symbol, price=None):
    """A quote in the GLOBAL_QUOTE shape whose price depends on the symbol."""
    cents = 1000 + sum(ord(c) * 37 for c in symbol) % 90000
    price = price or f"{cents // 100}.{cents % 100:02d}00"
    return json.dumps({"Global Quote": {
        "01. symbol": symbol,
        "02. open": price,
        "03. high": price,
        "04. low": price,
        "05. price": price,
        "06. volume": "1000",
        "07. latest trading day": "2026-12-03",
        "08. previous close": price,
        "09. change": "0.0000",
        "10. change percent": "0.0000%",
    }}, indent=4).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fakeav: " + (fmt % args) + "\n")

    def send_body(self, status, body, ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/_control":
            with STATE.lock:
                STATE.mode = query.get("mode", "quote")
                STATE.times = int(query["times"]) if "times" in query \
                    else None
                STATE.delay = float(query.get("delay", "0"))
            return self.send_body(200, b"{}")
        if url.path == "/_count":
            with STATE.lock:
                body = json.dumps({"calls": STATE.calls,
                                   "last_symbol": STATE.last_symbol,
                                   "last_apikey": STATE.last_apikey})
            return self.send_body(200, body.encode())
        if url.path == "/_reset":
            with STATE.lock:
                STATE.reset()
            return self.send_body(200, b"{}")
        if url.path != "/query":
            return self.send_body(404, b"not found", "text/plain")
        self.answer_quote(query)

    def answer_quote(self, query):
        symbol = query.get("symbol", "")
        with STATE.lock:
            STATE.last_symbol = symbol
            STATE.last_apikey = query.get("apikey")
        mode, delay = STATE.next_mode()
        if delay > 0:
            time.sleep(delay)
        if query.get("function") != "GLOBAL_QUOTE":
            mode = "invalid_call"
        if mode == "quote":
            if symbol.startswith("NOSUCH"):
                mode = "unknown"
            elif symbol in FIXTURES:
                return self.send_body(200, read_fixture(FIXTURES[symbol]))
            else:
                return self.send_body(200, made_up_quote(symbol))
        if mode in MODE_FILES:
            name, status = MODE_FILES[mode]
            ctype = "text/html" if name.endswith(".html") else \
                "application/json"
            return self.send_body(status, read_fixture(name), ctype)
        if mode == "error503":
            return self.send_body(503, b"", "text/plain")
        if mode == "status429":
            return self.send_body(429, b"", "text/plain")
        if mode == "bad_price":
            return self.send_body(200, made_up_quote(symbol, "-1.0000"))
        if mode == "redirect":
            self.send_response(302)
            self.send_header("Location", "/query?" + urllib.parse.urlencode(
                query))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if mode == "oversized":
            return self.send_chunked(1024 * 1024)
        return self.send_body(500, b"unknown mode", "text/plain")

    def send_chunked(self, total):
        """Sends total bytes without Content-Length, as chunks."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b'{"Global Quote": {"01. symbol": "' + b"X" * 16384
        sent = 0
        try:
            while sent < total:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass    # the client gave up, as it should
        self.close_connection = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--port-file", help="write the bound port here")
    args = ap.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(server.server_address[1]))
        os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
