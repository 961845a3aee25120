"""Graceful shutdown: a request in flight when SIGTERM arrives still gets
its answer, because http stops first and its siblings stop after it."""

import json
import os
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from test_quotes import FakeAV, conf  # noqa: E402

tap = harness.Tap()


def check_in_flight(obj, workdir):
    av = FakeAV(workdir)
    d = harness.Benjid(obj, conf_extra=conf(av.url(), extra=(
        "marketdata timeout PT5S\n")),
        env={"ALPHAVANTAGE_API_KEY": "test-key-0123456789"})
    result = {}

    def slow_request():
        try:
            result["reply"] = harness.http_get(d.port, "/api/quotes/IBM",
                                               timeout=10)
        except OSError as e:
            result["error"] = repr(e)

    try:
        d.start()
        av.mode("quote", delay=1.0)
        t = threading.Thread(target=slow_request)
        t.start()
        deadline = time.monotonic() + 5
        while av.calls() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        tap.eq(av.calls(), 1, "the provider call is under way")
        d.proc.send_signal(signal.SIGTERM)
        t.join(10)
        reply = result.get("reply")
        tap.ok(reply is not None, "the request in flight got an answer",
               f"{result.get('error')}\n{d.log_text()[-3000:]}")
        if reply is not None:
            status, _, body = reply
            tap.eq(status, 200, "the request in flight succeeded")
            tap.eq(json.loads(body).get("price"), 192.67,
                   "the request in flight got its quote")
        tap.eq(d.proc.wait(10), 0, "benjid stopped with status 0")
        tap.ok("did not stop in time" not in d.log_text(),
               "no child needed killing", d.log_text()[-1500:])
    finally:
        d.cleanup()
        av.stop()


def main():
    obj = sys.argv[1]
    workdir = tempfile.mkdtemp(prefix="benjid-shutdown-")
    try:
        check_in_flight(obj, workdir)
    finally:
        for name in os.listdir(workdir):
            os.unlink(os.path.join(workdir, name))
        os.rmdir(workdir)
    tap.done()


main()
