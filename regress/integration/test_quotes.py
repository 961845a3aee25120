#!/usr/bin/env python3
"""Quotes end to end: benjid against regress/fakeav.py on 127.0.0.1.

Covers each reply file in regress/data/alphavantage, symbol normalisation,
coalescing, the cache TTL, stale answers, the budget, failover to the fake
provider, the batch form and TLS with a test CA made by the openssl CLI.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import harness

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
FAKEAV = os.path.join(TOP, "regress", "fakeav.py")
API_KEY = "test-key-0123456789"


class FakeAV:
    """regress/fakeav.py in a child process, with its control calls."""

    def __init__(self, workdir, cert=None, key=None):
        self.port_file = os.path.join(workdir, f"fakeav-{id(self)}.port")
        cmd = [sys.executable, FAKEAV, "--port-file", self.port_file]
        if cert:
            cmd += ["--cert", cert, "--key", key]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("fakeav did not start")
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.tls = cert is not None

    def url(self, host="127.0.0.1"):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.port}/query"

    def control(self, path):
        if self.tls:
            return None
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
            return json.loads(r.read())

    def mode(self, mode, times=None, delay=0):
        q = f"/_control?mode={mode}&delay={delay}"
        if times is not None:
            q += f"&times={times}"
        self.control(q)

    def calls(self):
        return self.control("/_count")["calls"]

    def count(self):
        return self.control("/_count")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(5)


def conf(url, providers="alphavantage", extra=""):
    return (f'marketdata providers "{providers}"\n'
            f'marketdata url "{url}"\n'
            "marketdata allow-http yes\n"
            "marketdata retry-attempts 3\n"
            "marketdata initial-backoff PT0.05S\n"
            "marketdata max-backoff PT0.2S\n"
            "marketdata timeout PT1S\n"
            "marketdata connect-timeout PT0.5S\n"
            "marketdata budget-per-minute 0\n"
            "marketdata budget-per-day 0\n"
            "quote-cache ttl PT1S\n" + extra)


def start(obj, url, providers="alphavantage", extra="", key=API_KEY):
    env = {"ALPHAVANTAGE_API_KEY": key} if key else {}
    return harness.Benjid(obj, conf_extra=conf(url, providers, extra),
                          env=env).start()


def get(b, path):
    status, headers, body = harness.http_get(b.port, path, timeout=10)
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = None
    return status, headers, body, doc


def check_fixture_quotes(t, b, av):
    status, _, body, doc = get(b, "/api/quotes/IBM")
    t.eq(status, 200, "IBM quote status")
    t.ok(b'"price":192.67' in body, "IBM price is the exact decimal", body)
    t.eq(doc and doc.get("currency"), "USD", "IBM currency")
    t.eq(doc and doc.get("as_of"), "2026-12-03", "IBM as_of trading day")
    t.eq(doc and doc.get("source"), "alphavantage", "IBM source")
    t.eq(doc and doc.get("stale"), False, "IBM is fresh")
    t.eq(av.count()["last_apikey"], API_KEY, "provider received the key")

    status, _, body, doc = get(b, "/api/quotes/brk-b")
    t.eq(status, 200, "BRK-B quote status")
    t.eq(doc and doc.get("symbol"), "BRK-B", "BRK-B symbol echoed")
    t.ok(b'"price":473.55' in body, "BRK-B price", body)

    status, _, body, doc = get(b, "/api/quotes/VOO")
    t.eq(status, 200, "negative change status")
    t.ok(b'"change":-4.87' in body, "negative change keeps its sign", body)
    t.ok(b'"change_percent":-0.8841' in body, "negative percent", body)


def check_unknown_symbol(t, b, av):
    before = av.calls()
    status, _, _, doc = get(b, "/api/quotes/NOSUCH1")
    t.eq(status, 404, "unknown symbol status")
    t.eq(doc and doc.get("code"), "QUOTE_NOT_FOUND", "unknown symbol code")
    get(b, "/api/quotes/NOSUCH1")
    t.eq(av.calls() - before, 2, "not-found is never cached")


def check_errors(t, b, av):
    cases = [
        ("invalid_key", "KEYERR", 502, "PROVIDER_ERROR", 1),
        ("invalid_call", "CALLERR", 502, "PROVIDER_ERROR", 1),
        ("truncated", "TRUNC", 502, "PROVIDER_ERROR", 3),
        ("html502", "HTML", 502, "PROVIDER_ERROR", 3),
        ("error503", "FIVEXX", 502, "PROVIDER_ERROR", 3),
        ("bad_price", "BADPRICE", 502, "PROVIDER_ERROR", 1),
        ("oversized", "HUGE", 502, "PROVIDER_ERROR", 1),
        ("redirect", "REDIR", 502, "PROVIDER_ERROR", 1),
    ]
    for mode, symbol, status_expected, code, calls in cases:
        av.mode(mode)
        before = av.calls()
        status, _, _, doc = get(b, f"/api/quotes/{symbol}")
        t.eq(status, status_expected, f"{mode}: status")
        t.eq(doc and doc.get("code"), code, f"{mode}: code")
        t.eq(av.calls() - before, calls, f"{mode}: provider calls")
    av.mode("quote")

    for mode in ("truncated", "html502"):
        av.mode(mode, times=1)
        before = av.calls()
        status, _, _, _ = get(b, f"/api/quotes/RETRY{mode[:2].upper()}")
        t.eq(status, 200, f"{mode} once: retried to success")
        t.eq(av.calls() - before, 2, f"{mode} once: two calls")

    av.mode("quote", delay=2)
    start_time = time.monotonic()
    status, _, _, doc = get(b, "/api/quotes/SLOW")
    elapsed = time.monotonic() - start_time
    t.eq(status, 503, "timeout: status")
    t.eq(doc and doc.get("code"), "PROVIDER_UNAVAILABLE", "timeout: code")
    t.ok(elapsed < 1.9, "timeout: within the total deadline", elapsed)
    av.mode("quote")

    log = b.log_text()
    t.ok(API_KEY not in log, "the key is never logged")
    t.ok("API key rejected" in log, "invalid key is logged")


def check_symbols(t, b, av):
    before = av.calls()
    for path in ("/api/quotes/brk.b", "/api/quotes/BRK.B",
                 "/api/quotes/%20BRK.B%20"):
        status, _, _, doc = get(b, path)
        t.eq(status, 200, f"{path}: status")
        t.eq(doc and doc.get("symbol"), "BRK.B", f"{path}: normalised")
    t.eq(av.calls() - before, 1, "one upstream call for one symbol")

    for bad in ("bad$", "BRK.", "-B", "ABCDEFGHIJKLMNOP", "%20"):
        status, _, _, doc = get(b, f"/api/quotes/{bad}")
        t.eq(status, 400, f"invalid {bad!r}: status")
        t.eq(doc and doc.get("code"), "SYMBOL_INVALID", f"invalid {bad!r}")
    _, _, _, doc = get(b, "/api/quotes/bad$")
    t.eq(doc and doc["details"].get("symbol"), "bad$", "rejected value")


def check_coalescing(t, b, av):
    av.mode("quote", delay=0.4)
    before = av.calls()
    results = []

    def one():
        results.append(get(b, "/api/quotes/COAL")[0])

    threads = [threading.Thread(target=one) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t.eq(results, [200] * 20, "20 parallel requests answered")
    t.eq(av.calls() - before, 1, "20 parallel requests, one call")
    av.mode("quote")


def check_ttl_and_stale(t, b, av):
    before = av.calls()
    _, _, _, first = get(b, "/api/quotes/TTLX")
    get(b, "/api/quotes/TTLX")
    t.eq(av.calls() - before, 1, "second request served by the cache")
    time.sleep(1.2)
    _, _, _, doc = get(b, "/api/quotes/TTLX")
    t.eq(av.calls() - before, 2, "expired entry fetched again")
    t.eq(doc and doc.get("stale"), False, "refreshed entry is fresh")

    time.sleep(1.2)
    av.mode("error503")
    status, _, _, doc = get(b, "/api/quotes/TTLX")
    t.eq(status, 200, "provider down: stale answer")
    t.eq(doc and doc.get("stale"), True, "provider down: marked stale")
    t.eq(doc and doc.get("as_of"), first and first.get("as_of"),
         "stale answer keeps as_of")
    t.ok(doc and doc.get("fetched_at") is not None, "stale fetched_at")
    av.mode("quote")


def check_batch(t, b, av):
    status, _, body, doc = get(b, "/api/quotes?symbols=IBM,voo,NOSUCH2,"
                                  "bad$,ibm")
    t.eq(status, 200, "batch status")
    quotes = doc.get("quotes", []) if doc else []
    t.eq(len(quotes), 5, "batch: one result per symbol")
    if len(quotes) == 5:
        t.eq(quotes[0].get("symbol"), "IBM", "batch: first symbol")
        t.ok(b'"price":546.01' in body, "batch: VOO price", body)
        t.eq(quotes[2].get("code"), "QUOTE_NOT_FOUND", "batch: not found")
        t.eq(quotes[3].get("code"), "SYMBOL_INVALID", "batch: invalid")
        t.eq(quotes[4].get("price"), quotes[0].get("price"),
             "batch: repeated symbol")
    many = ",".join(f"S{i}" for i in range(51))
    status, _, _, _ = get(b, f"/api/quotes?symbols={many}")
    t.eq(status, 400, "batch of 51 rejected")
    status, _, _, doc = get(b, "/api/quotes")
    t.eq(status, 200, "index status")
    t.ok(doc and "endpoints" in doc, "index lists the endpoints")


def check_rate_limit_reply(t, obj, av, mode):
    b = start(obj, av.url())
    try:
        av.mode("quote")
        get(b, "/api/quotes/IBM")
        time.sleep(1.1)
        av.mode(mode)
        before = av.calls()
        status, _, _, doc = get(b, "/api/quotes/IBM")
        t.eq(status, 200, f"{mode}: cached quote served")
        t.eq(doc and doc.get("stale"), True, f"{mode}: marked stale")
        status, headers, _, doc = get(b, "/api/quotes/RLNEW")
        t.eq(status, 503, f"{mode}: no cache, status")
        t.eq(doc and doc.get("code"), "PROVIDER_RATE_LIMITED",
             f"{mode}: code")
        t.ok(headers.get("retry-after", "").isdigit(),
             f"{mode}: Retry-After", headers)
        t.eq(av.calls() - before, 1, f"{mode}: no retry, budget spent")
    finally:
        av.mode("quote")
        b.cleanup()


def check_budget(t, obj, av):
    b = start(obj, av.url(), extra="marketdata budget-per-minute 2\n")
    try:
        before = av.calls()
        t.eq(get(b, "/api/quotes/BUDA")[0], 200, "budget: first call")
        t.eq(get(b, "/api/quotes/BUDB")[0], 200, "budget: second call")
        status, headers, _, doc = get(b, "/api/quotes/BUDC")
        t.eq(status, 503, "budget spent: status")
        t.eq(doc and doc.get("code"), "PROVIDER_RATE_LIMITED",
             "budget spent: code")
        t.ok(headers.get("retry-after", "").isdigit(),
             "budget spent: Retry-After", headers)
        t.eq(av.calls() - before, 2, "budget: enforced before calling")
        time.sleep(1.1)
        status, _, _, doc = get(b, "/api/quotes/BUDA")
        t.eq(doc and doc.get("stale"), True, "budget spent: stale served")
    finally:
        b.cleanup()


def check_failover(t, obj, av):
    b = start(obj, av.url(), providers="alphavantage,fake")
    try:
        av.mode("error503")
        status, _, _, doc = get(b, "/api/quotes/FAILO")
        t.eq(status, 200, "failover: status")
        t.eq(doc and doc.get("source"), "fake", "failover: fake answered")
    finally:
        av.mode("quote")
        b.cleanup()

    b = start(obj, av.url(), key=None)
    try:
        status, _, _, doc = get(b, "/api/quotes/NOKEY")
        t.eq(status, 503, "no key: provider unavailable")
    finally:
        b.cleanup()


def make_ca(d):
    def ssl(*args):
        subprocess.run(["openssl", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ca_key, ca = os.path.join(d, "ca.key"), os.path.join(d, "ca.pem")
    key, csr = os.path.join(d, "srv.key"), os.path.join(d, "srv.csr")
    cert, ext = os.path.join(d, "srv.pem"), os.path.join(d, "ext.cnf")
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=benji test CA", "-keyout", ca_key, "-out", ca)
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", key, "-out", csr)
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert)
    return ca, cert, key


def check_tls(t, obj, workdir):
    ca, cert, key = make_ca(workdir)
    av = FakeAV(workdir, cert, key)
    try:
        b = start(obj, av.url("localhost"),
                  extra=f'marketdata allow-http no\n'
                        f'marketdata ca-file "{ca}"\n')
        try:
            status, _, _, doc = get(b, "/api/quotes/IBM")
            t.eq(status, 200, "TLS with the test CA: accepted")
            t.eq(doc and doc.get("source"), "alphavantage", "TLS source")
        finally:
            b.cleanup()
        b = start(obj, av.url("localhost"), extra="marketdata allow-http no\n")
        try:
            status, _, _, doc = get(b, "/api/quotes/IBM")
            t.eq(status, 503, "TLS without the test CA: refused")
            t.eq(doc and doc.get("code"), "PROVIDER_UNAVAILABLE",
                 "TLS refusal code")
        finally:
            b.cleanup()
    finally:
        av.stop()


def check_http_refused(t, obj, av):
    b = harness.Benjid(obj, conf_extra=conf(av.url(),
                                            extra="marketdata allow-http no\n"))
    try:
        before = av.calls()
        r = subprocess.run(b.command("-n", "-f", b.conf),
                           capture_output=True, text=True, timeout=10)
        t.eq(r.returncode, 1, "plain http refused unless allowed")
        t.ok("is not https" in r.stderr and "allow-http" in r.stderr,
             "plain http: the message names the fix", r.stderr)
        t.eq(av.calls() - before, 0, "plain http: no call made")
    finally:
        b.cleanup()


def main():
    obj = sys.argv[1]
    t = harness.Tap()
    workdir = tempfile.mkdtemp(prefix="benjid-quotes-")
    os.chmod(workdir, 0o755)
    av = FakeAV(workdir)
    try:
        b = start(obj, av.url())
        try:
            check_fixture_quotes(t, b, av)
            check_unknown_symbol(t, b, av)
            check_errors(t, b, av)
            check_symbols(t, b, av)
            check_coalescing(t, b, av)
            check_ttl_and_stale(t, b, av)
            check_batch(t, b, av)
        finally:
            b.cleanup()
        for mode in ("note", "information", "status429"):
            check_rate_limit_reply(t, obj, av, mode)
        check_budget(t, obj, av)
        check_failover(t, obj, av)
        check_http_refused(t, obj, av)
        check_tls(t, obj, workdir)
    finally:
        av.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
