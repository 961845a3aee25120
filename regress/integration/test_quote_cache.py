#!/usr/bin/env python3
"""The fetcher's quote cache at its size limit, against regress/fakeav.py:
the least recently used entry leaves first, an entry found again is marked
used, and a symbol that left is fetched again and cached once more."""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from test_quotes import FakeAV, start  # noqa: E402

# Later settings override the TTL of PT1S that test_quotes.conf() sets.
CACHE_CONF = "quote-cache ttl PT1H\nquote-cache size 3\n"


def quote(t, b, symbol):
    status, _, body = harness.http_get(b.port, f"/api/quotes/{symbol}",
                                       timeout=10)
    t.ok(status == 200, f"{symbol}: quote 200", body[:200])


def calls_for(t, b, av, symbols):
    """Provider calls made while quoting symbols in order."""
    before = av.calls()
    for s in symbols:
        quote(t, b, s)
    return av.calls() - before


def check_lru(t, b, av):
    t.eq(calls_for(t, b, av, ["CA", "CB", "CC"]), 3, "lru: three misses")
    t.eq(calls_for(t, b, av, ["CA", "CB", "CC"]), 0, "lru: three hits")
    # CA is now the least recently used: CD pushes it out.
    t.eq(calls_for(t, b, av, ["CB", "CD"]), 1, "lru: CD fetched")
    t.eq(calls_for(t, b, av, ["CB", "CC", "CD"]), 0,
         "lru: the three most recent stay")
    t.eq(calls_for(t, b, av, ["CA"]), 1, "lru: evicted CA fetched again")
    t.eq(calls_for(t, b, av, ["CA"]), 0, "lru: CA cached again")


def check_many(t, b, av):
    """More symbols than the cache holds, each fetched once per pass."""
    symbols = [f"M{i:03d}" for i in range(40)]
    t.eq(calls_for(t, b, av, symbols), 40, "many: first pass all misses")
    t.eq(calls_for(t, b, av, symbols[-3:]), 0, "many: last three cached")
    t.eq(calls_for(t, b, av, symbols[:1]), 1, "many: first one evicted")


def main():
    obj = sys.argv[1]
    t = harness.Tap()
    workdir = tempfile.mkdtemp(prefix="benjid-cache-")
    os.chmod(workdir, 0o755)
    av = FakeAV(workdir)
    try:
        b = start(obj, av.url(), extra=CACHE_CONF)
        try:
            check_lru(t, b, av)
            check_many(t, b, av)
        finally:
            b.cleanup()
    finally:
        av.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
