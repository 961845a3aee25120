#!/usr/bin/env python3
"""The actuator endpoints end to end: /actuator/health with and without
credentials, /actuator/metrics, /actuator/prometheus, /actuator/caches and
the /actuator index, against a private PostgreSQL cluster and
regress/fakeav.py, in the test and prod profiles."""

import base64
import http.client
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import Benjid, PgCluster, Tap, free_port  # noqa: E402
from test_quotes import FakeAV, conf  # noqa: E402

API_KEY = "actuator-test-key-0123456789"
TRADING_KEY = "trading-key-4e1b9d0c7a2f5e83b6"
ACT_USER = "benji-ops"
ACT_PASS = "actuator-pass-2c9e71b0d4a6f8e3"
PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRIC_NAMES = (
    "benji.db.pool.active", "benji.db.pool.connections",
    "benji.db.pool.pending", "benji.db.pool.size", "benji.process.restarts",
    "benji.provider.calls", "benji.quotes.cache.gets",
    "benji.quotes.cache.size", "benji.quotes.cache.stale",
    "benji.http.connections.active", "http.server.requests",
    "process.uptime",
)
PROTECTED = (
    ("GET", "/actuator"), ("GET", "/actuator/metrics"),
    ("GET", "/actuator/metrics/process.uptime"),
    ("GET", "/actuator/prometheus"), ("GET", "/actuator/caches"),
    ("GET", "/actuator/caches/quotes"), ("DELETE", "/actuator/caches"),
    ("DELETE", "/actuator/caches/quotes"),
)
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
                    r'(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})?'
                    r' (-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)$')
tap = Tap()


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


AUTH = {"Authorization": basic(ACT_USER, ACT_PASS)}


def request(d, method, path, headers=None):
    """Returns (status, headers with lower-case names, body, JSON or None)."""
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = None
    return resp.status, hdrs, body, doc


def get(d, path, headers=None):
    return request(d, "GET", path, headers)


def wait_for(predicate, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def measurement(doc, statistic):
    for m in (doc or {}).get("measurements", []):
        if m.get("statistic") == statistic:
            return m.get("value")
    return None


def metric_value(d, name, statistic, tag=None, headers=None):
    path = f"/actuator/metrics/{name}" + (f"?tag={tag}" if tag else "")
    status, _, _, doc = get(d, path, headers)
    return measurement(doc, statistic) if status == 200 else None


def parse_prometheus(text):
    """Returns (samples {line name+labels: value}, errors)."""
    samples, errors, typed = {}, [], set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            parts = line.split(" ")
            if len(parts) != 4 or parts[3] not in ("counter", "gauge",
                                                   "summary", "untyped"):
                errors.append(line)
            else:
                typed.add(parts[2])
            continue
        m = SAMPLE.match(line)
        if m is None:
            errors.append(line)
            continue
        name = m.group(1)
        family = re.sub(r"_(count|sum)$", "", name)
        if name not in typed and family not in typed:
            errors.append("no TYPE before: " + line)
        samples[name + (m.group(2) or "")] = float(m.group(3))
    if not text.endswith("\n"):
        errors.append("missing final newline")
    return samples, errors


def check_health_up(d):
    status, hdrs, body, doc = get(d, "/actuator/health")
    tap.eq(status, 200, "health: 200 when every component is up")
    tap.eq(hdrs.get("content-type"), "application/json", "health: JSON")
    tap.eq(doc and doc.get("status"), "UP", "health: status UP")
    comps = (doc or {}).get("components", {})
    tap.eq(sorted(comps), ["db", "marketdata", "ping", "secrets"],
           "health: components in the test profile")
    db = comps.get("db", {})
    tap.eq(db.get("status"), "UP", "health: db UP")
    tap.eq(db.get("details", {}).get("migrated"), True, "health: migrated")
    tap.eq(db.get("details", {}).get("pool", {}).get("size"), 2,
           "health: db pool size")
    tap.ok(db.get("details", {}).get("pool", {}).get("open", 0) >= 1,
           "health: a db connection is open", db)
    md = comps.get("marketdata", {})
    tap.eq(md.get("status"), "UP", "health: marketdata UP")
    providers = md.get("details", {}).get("providers", [])
    tap.eq([p.get("name") for p in providers], ["alphavantage"],
           "health: configured providers")
    tap.eq(comps.get("secrets", {}).get("status"), "UP", "health: secrets")
    tap.eq(comps.get("ping", {}).get("status"), "UP", "health: ping")
    tap.ok(API_KEY.encode() not in body, "health: no provider key")


def check_index(d):
    status, _, _, doc = get(d, "/actuator")
    tap.eq(status, 200, "index: 200")
    links = (doc or {}).get("_links", {})
    for rel, path in (("self", "/actuator"), ("health", "/actuator/health"),
                      ("metrics", "/actuator/metrics"),
                      ("prometheus", "/actuator/prometheus"),
                      ("caches", "/actuator/caches")):
        href = links.get(rel, {}).get("href", "")
        tap.eq(href, f"http://127.0.0.1:{d.port}{path}", f"index: {rel}")
        tap.eq(links.get(rel, {}).get("templated"), False,
               f"index: {rel} not templated")
    tap.eq(links.get("metrics-requiredMetricName", {}).get("templated"),
           True, "index: metric link templated")


def check_metrics(d):
    status, _, _, doc = get(d, "/actuator/metrics")
    tap.eq(status, 200, "metrics: names 200")
    tap.eq((doc or {}).get("names"), list(METRIC_NAMES), "metrics: names")
    for name in METRIC_NAMES:
        status, _, _, doc = get(d, f"/actuator/metrics/{name}")
        doc = doc or {}
        tap.eq(status, 200, f"metrics: {name} 200")
        tap.ok(doc.get("name") == name and doc.get("description") and
               "baseUnit" in doc and isinstance(doc.get("availableTags"),
                                                list) and
               all(set(m) == {"statistic", "value"} and
                   isinstance(m["value"], (int, float))
                   for m in doc.get("measurements", [])) and
               doc.get("measurements"), f"metrics: {name} shape", doc)

    status, _, _, doc = get(d, "/actuator/metrics/no.such.metric")
    tap.eq(status, 404, "metrics: unknown name 404")
    tap.ok(doc and doc.get("code") == "NOT_FOUND" and "message" in doc and
           doc.get("details", {}).get("metric") == "no.such.metric",
           "metrics: unknown name error body", doc)

    before = metric_value(d, "http.server.requests", "COUNT") or 0
    for _ in range(3):
        get(d, "/actuator/health/liveness")
    after = metric_value(d, "http.server.requests", "COUNT") or 0
    tap.ok(after >= before + 4, "metrics: request count moves",
           (before, after))
    status, _, _, doc = get(d, "/actuator/metrics/http.server.requests")
    tap.eq(doc and doc.get("baseUnit"), "seconds", "metrics: seconds")
    tap.ok((measurement(doc, "TOTAL_TIME") or 0) > 0 and
           (measurement(doc, "MAX") or 0) > 0, "metrics: request times", doc)
    tags = {t["tag"]: t["values"] for t in (doc or {}).get(
        "availableTags", [])}
    tap.ok("SUCCESS" in tags.get("outcome", []), "metrics: outcome tag", doc)
    ok = metric_value(d, "http.server.requests", "COUNT",
                      "outcome:SUCCESS")
    tap.ok(ok is not None and 0 < ok <= after + 1,
           "metrics: filtered by outcome", ok)
    tap.eq(get(d, "/actuator/metrics/http.server.requests?tag=outcome")[0],
           400, "metrics: tag without a value 400")
    tap.eq(get(d, "/actuator/metrics/http.server.requests"
               "?tag=outcome:NOPE")[0], 404, "metrics: unknown tag value 404")
    tap.eq(get(d, "/actuator/metrics/http.server.requests"
               "?tag=outcome:SUCCESS&tag=outcome:SUCCESS")[0], 400,
           "metrics: repeated tag 400")
    uptime = metric_value(d, "process.uptime", "VALUE")
    tap.ok(uptime is not None and 0 < uptime < 600, "metrics: uptime",
           uptime)
    tap.eq(metric_value(d, "benji.db.pool.size", "VALUE"), 2,
           "metrics: db pool size")
    tap.ok((metric_value(d, "benji.http.connections.active", "VALUE") or 0)
           >= 1, "metrics: this connection is counted")


def check_cache(d, av):
    before = av.calls()
    get(d, "/api/quotes/IBM")
    get(d, "/api/quotes/IBM")
    tap.eq(av.calls() - before, 1, "cache: second quote from the cache")
    tap.ok((metric_value(d, "benji.quotes.cache.gets", "COUNT",
                         "result:hit") or 0) >= 1, "cache: hit counted")
    tap.ok((metric_value(d, "benji.quotes.cache.gets", "COUNT",
                         "result:miss") or 0) >= 1, "cache: miss counted")
    tap.ok((metric_value(d, "benji.quotes.cache.size", "VALUE") or 0) >= 1,
           "cache: size counts the entry")
    tap.eq(metric_value(d, "benji.provider.calls", "VALUE",
                        "provider:alphavantage"), av.calls(),
           "metrics: provider calls today")

    status, _, _, doc = get(d, "/actuator/caches")
    tap.eq(status, 200, "caches: list 200")
    tap.eq((doc or {}).get("cacheManagers", {}).get("cacheManager", {})
           .get("caches", {}).get("quotes", {}).get("target") is not None,
           True, "caches: quotes listed under cacheManager")
    status, _, _, doc = get(d, "/actuator/caches/quotes")
    tap.eq((status, doc and doc.get("name"), doc and doc.get("cacheManager")),
           (200, "quotes", "cacheManager"), "caches: quotes by name")
    tap.eq(get(d, "/actuator/caches/nosuch")[0], 404, "caches: unknown 404")
    tap.eq(get(d, "/actuator/caches/quotes?cacheManager=other")[0], 404,
           "caches: unknown manager 404")

    status, _, body, _ = request(d, "DELETE", "/actuator/caches/quotes")
    tap.eq((status, body), (204, b""), "caches: evict quotes 204")
    tap.eq(metric_value(d, "benji.quotes.cache.size", "VALUE"), 0,
           "caches: eviction empties the cache")
    get(d, "/api/quotes/IBM")
    tap.eq(av.calls() - before, 2, "caches: after eviction the provider "
           "is called again")
    tap.eq(request(d, "DELETE", "/actuator/caches")[0], 204,
           "caches: evict all 204")
    get(d, "/api/quotes/IBM")
    tap.eq(av.calls() - before, 3, "caches: evict all reaches the quotes")
    tap.eq(request(d, "DELETE", "/actuator/caches/nosuch")[0], 404,
           "caches: evict unknown 404")
    status, hdrs, _, _ = request(d, "PUT", "/actuator/caches")
    tap.eq((status, hdrs.get("allow")), (405, "GET, DELETE"),
           "caches: PUT 405 with Allow")


def check_stale_and_provider_error(d, av):
    get(d, "/api/quotes/STALEX")
    time.sleep(1.2)
    av.mode("error503")
    status, _, _, doc = get(d, "/api/quotes/STALEX")
    av.mode("quote")
    tap.eq((status, doc and doc.get("stale")), (200, True),
           "stale: provider down serves a stale quote")
    tap.ok((metric_value(d, "benji.quotes.cache.stale", "COUNT") or 0) >= 1,
           "stale: counted")

    request(d, "DELETE", "/actuator/caches/quotes")
    av.mode("invalid_key", times=1)
    status = get(d, "/api/quotes/KEYERR")[0]
    tap.eq(status, 502, "provider error: the quote fails")
    status, _, body, doc = get(d, "/actuator/health")
    tap.eq(status, 200, "provider error alone keeps health 200")
    tap.eq(doc and doc.get("status"), "UP", "provider error: status UP")
    md = (doc or {}).get("components", {}).get("marketdata", {})
    tap.eq(md.get("status"), "DEGRADED", "provider error: DEGRADED")
    p = (md.get("details", {}).get("providers") or [{}])[0]
    tap.eq(p.get("state"), "MISCONFIGURED", "provider error: state")
    tap.ok("API key" in (p.get("last_error") or ""),
           "provider error: last error shown", p)
    tap.ok(p.get("last_error_at", "").endswith("Z"),
           "provider error: time in UTC", p)
    tap.ok(API_KEY.encode() not in body, "provider error: no key in health")


def check_prometheus(d):
    status, hdrs, body, _ = get(d, "/actuator/prometheus")
    tap.eq(status, 200, "prometheus: 200")
    tap.eq(hdrs.get("content-type"), PROMETHEUS_TYPE,
           "prometheus: content type")
    samples, errors = parse_prometheus(body.decode())
    tap.eq(errors, [], "prometheus: every line parses")
    for name in ('http_server_requests_seconds_count{outcome="SUCCESS"}',
                 'http_server_requests_seconds_sum{outcome="SUCCESS"}',
                 'http_server_requests_seconds_max{outcome="SUCCESS"}',
                 "process_uptime_seconds",
                 'benji_quotes_cache_gets_total{result="hit"}',
                 "benji_quotes_cache_size_entries",
                 'benji_provider_calls{provider="alphavantage"}',
                 "benji_db_pool_size_connections",
                 'benji_process_restarts_total{process="fetcher"}',
                 "benji_http_connections_active_connections"):
        tap.ok(name in samples, f"prometheus: {name}", sorted(samples))
    count = samples.get('http_server_requests_seconds_count'
                        '{outcome="SUCCESS"}', 0)
    get(d, "/actuator/health/liveness")
    again, _ = parse_prometheus(get(d, "/actuator/prometheus")[2].decode())
    tap.ok(again.get('http_server_requests_seconds_count'
                     '{outcome="SUCCESS"}', 0) >= count + 2,
           "prometheus: request count moves")


def check_restarts(d):
    os.kill(d.children()["fetcher"], signal.SIGKILL)
    tap.ok(wait_for(lambda: metric_value(
        d, "benji.process.restarts", "COUNT", "process:fetcher") == 1),
        "restarts: fetcher restart counted")
    tap.eq(metric_value(d, "benji.process.restarts", "COUNT", "process:db"),
           0, "restarts: db not restarted")
    doc = get(d, "/actuator/metrics/benji.process.restarts?tag=process:db")[3]
    tags = (doc or {}).get("availableTags", [])
    tap.eq(tags, [{"tag": "process",
                   "values": ["http", "fetcher", "db", "secrets"]}],
           "restarts: every tag value listed despite the filter")
    tap.eq(metric_value(d, "benji.process.restarts", "COUNT"), 1,
           "restarts: the sum over the children")


def run_test_profile(obj, pg, workdir):
    av = FakeAV(workdir)
    extra = conf(av.url()) + "database pool-size 2\n"
    d = Benjid(obj, conf_extra=extra,
               env={"ALPHAVANTAGE_API_KEY": API_KEY,
                    "SPRING_DATASOURCE_URL": pg.url(pg.create_db("act")),
                    "SPRING_DATASOURCE_USERNAME": "benji"})
    try:
        d.start()
        tap.ok(wait_for(lambda: get(d, "/actuator/health/readiness")[0] ==
                        200), "test profile: database ready")
        check_health_up(d)
        check_index(d)
        check_metrics(d)
        check_cache(d, av)
        check_stale_and_provider_error(d, av)
        check_prometheus(d)
        check_restarts(d)
    finally:
        d.cleanup()
        av.stop()


def run_db_down(obj):
    closed = free_port()
    d = Benjid(obj, env={
        "SPRING_DATASOURCE_URL": f"jdbc:postgresql://127.0.0.1:{closed}/x",
        "SPRING_DATASOURCE_USERNAME": "benji",
        "TRADING_MARKETDATA_PROVIDERS": "fake"})
    try:
        d.start()
        status, _, _, doc = get(d, "/actuator/health")
        tap.eq(status, 503, "db down: health 503")
        tap.eq(doc and doc.get("status"), "DOWN", "db down: status DOWN")
        db = (doc or {}).get("components", {}).get("db", {})
        tap.eq(db.get("status"), "DOWN", "db down: db component DOWN")
        tap.ok(db.get("details", {}).get("error"), "db down: error shown", db)
        tap.eq((doc or {}).get("components", {}).get("marketdata", {})
               .get("status"), "UP", "db down: marketdata still UP")
        tap.eq(metric_value(d, "benji.db.pool.connections", "VALUE"), 0,
               "db down: no connection open")
        tap.eq(get(d, "/actuator/health/liveness")[0], 200,
               "db down: liveness still 200")
    finally:
        d.cleanup()


def run_prod(obj, pg):
    d = Benjid(obj, conf_extra="profile prod\nauth failure budget 1000\n",
               env={"TRADING_API_KEY": TRADING_KEY,
                    "ACTUATOR_USERNAME": ACT_USER,
                    "ACTUATOR_PASSWORD": ACT_PASS,
                    "TRADING_MARKETDATA_PROVIDERS": "fake",
                    "SPRING_DATASOURCE_URL": pg.url(pg.create_db("actprod")),
                    "SPRING_DATASOURCE_USERNAME": "benji"})
    try:
        d.start()
        wait_for(lambda: get(d, "/actuator/health/readiness")[0] == 200)
        status, _, body, doc = get(d, "/actuator/health")
        tap.eq((status, doc), (200, {"status": "UP"}),
               "prod: health without credentials is status only")
        status, _, _, doc = get(d, "/actuator/health", AUTH)
        tap.eq(status, 200, "prod: health with credentials 200")
        tap.eq(sorted((doc or {}).get("components", {})),
               ["db", "marketdata", "ping", "secrets"],
               "prod: health with credentials has components")
        wrong = {"Authorization": basic(ACT_USER, ACT_PASS + "x")}
        tap.eq(get(d, "/actuator/health", wrong)[0], 401,
               "prod: health with wrong credentials 401")
        for method, path in PROTECTED:
            status, hdrs, _, _ = request(d, method, path)
            tap.eq(status, 401, f"prod: {method} {path} needs credentials")
            tap.ok(hdrs.get("www-authenticate", "").startswith("Basic"),
                   f"prod: {method} {path} asks for Basic", hdrs)
            tap.eq(request(d, method, path, wrong)[0], 401,
                   f"prod: {method} {path} wrong password 401")
            status = request(d, method, path, AUTH)[0]
            tap.ok(status in (200, 204), f"prod: {method} {path} with "
                   "credentials", status)
        tap.eq(get(d, "/actuator/health/liveness")[0], 200,
               "prod: liveness needs no credentials")
        text = get(d, "/actuator/prometheus", AUTH)[2]
        tap.ok(ACT_PASS.encode() not in text and
               TRADING_KEY.encode() not in text, "prod: no secret in metrics")
    finally:
        d.cleanup()


def main():
    obj = sys.argv[1]
    if os.geteuid() != 0:
        tap.skip("actuator", "needs root")
        tap.done()
    if harness.pg_bindir() is None:
        tap.skip("actuator", "PostgreSQL is not installed")
        tap.done()
    workdir = tempfile.mkdtemp(prefix="benjid-actuator-")
    os.chmod(workdir, 0o755)
    pg = PgCluster()
    try:
        pg.start()
        for check in (lambda: run_test_profile(obj, pg, workdir),
                      lambda: run_db_down(obj),
                      lambda: run_prod(obj, pg)):
            try:
                check()
            except Exception as e:  # report, then let TAP count the failure
                tap.ok(False, "actuator check completed", repr(e))
    finally:
        pg.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    tap.done()


main()
