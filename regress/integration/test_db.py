"""The db child against a private PostgreSQL cluster: migrations (fresh,
adopted from the Java service, checksum drift, two instances racing), the
portfolio and finance endpoints with their errors, exact decimals, and a
PostgreSQL restart in the middle."""

import http.client
import json
import os
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from harness import Benjid, PgCluster, Tap, http_get  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SQL = os.path.join(TOP, "sql")
V1 = "V1__create_portfolio_position.sql"
V2 = "V2__create_finance_transaction.sql"
tap = Tap()


def flyway_checksum(path):
    """CRC-32 over the lines without terminators, as a signed int."""
    with open(path, "rb") as f:
        data = f.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    crc = 0
    for line in data.replace(b"\r\n", b"\n").replace(b"\r", b"\n") \
            .split(b"\n"):
        crc = zlib.crc32(line, crc)
    return crc - (1 << 32) if crc >= (1 << 31) else crc


def request(d, method, path, body=None, raw=None):
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    try:
        data = raw if raw is not None else (
            json.dumps(body) if body is not None else None)
        headers = {"Content-Type": "application/json"} if data else {}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def start(pg, db, **kw):
    d = Benjid(sys.argv[1], env={"SPRING_DATASOURCE_URL": pg.url(db),
                                 "SPRING_DATASOURCE_USERNAME": "benji"},
               **kw)
    d.start()
    return d


def wait_ready(d, seconds=15):
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline:
        status, _, _ = http_get(d.port, "/actuator/health/readiness")
        if status == 200:
            return True
        time.sleep(0.05)
    return False


def sessions(pg, db, seconds=10, expected=4):
    """Waits until benjid has the expected number of sessions open on db.
    Returns the last count."""
    deadline = time.monotonic() + seconds
    while True:
        n = int(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE "
                        f"datname = '{db}' AND application_name = 'benjid'"))
        if n == expected or time.monotonic() > deadline:
            return n
        time.sleep(0.05)


def advisory_locks(pg, db):
    return pg.psql("SELECT count(*) FROM pg_locks l JOIN pg_database d ON "
                   f"d.oid = l.database WHERE d.datname = '{db}' AND "
                   "l.locktype = 'advisory'")


def history_index(pg, db):
    return pg.psql("SELECT to_regclass('flyway_schema_history_s_idx') IS "
                   "NOT NULL", db)


def history(pg, db):
    out = pg.psql("SELECT installed_rank, version, script, checksum, "
                  "success FROM flyway_schema_history ORDER BY 1", db)
    return [line.split("|") for line in out.splitlines()]


def java_era(pg, db, v2_checksum=None):
    """A database as the Java service left it: V1 and V2 with Flyway."""
    pg.create_db(db)
    for script in (V1, V2):
        with open(os.path.join(SQL, script)) as f:
            pg.psql(f.read(), db)
    pg.psql("CREATE TABLE flyway_schema_history (installed_rank INT NOT "
            "NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL, "
            "type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, "
            "checksum INTEGER, installed_by VARCHAR(100) NOT NULL, "
            "installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time "
            "INTEGER NOT NULL, success BOOLEAN NOT NULL, CONSTRAINT "
            "flyway_schema_history_pk PRIMARY KEY (installed_rank))", db)
    c1 = flyway_checksum(os.path.join(SQL, V1))
    c2 = v2_checksum if v2_checksum is not None else \
        flyway_checksum(os.path.join(SQL, V2))
    pg.psql("INSERT INTO flyway_schema_history VALUES "
            f"(1, '1', 'create portfolio position', 'SQL', '{V1}', {c1}, "
            "'trading', now(), 12, true), "
            f"(2, '2', 'create finance transaction', 'SQL', '{V2}', {c2}, "
            "'trading', now(), 9, true)", db)
    pg.psql("INSERT INTO portfolio_position (ticker, qty, basis) VALUES "
            "('IBM', 3.5, 420.000001)", db)


def check_fresh(pg):
    db = pg.create_db("fresh")
    d = start(pg, db)
    try:
        tap.ok(wait_ready(d), "fresh: readiness becomes UP", d.log_text())
        # The session that checked the migrations serves as a pool
        # connection: it must neither leak nor keep the migration lock.
        tap.eq(sessions(pg, db), 4, "fresh: sessions match the pool size")
        tap.eq(advisory_locks(pg, db), "0",
               "fresh: no session keeps the migration lock")
        tap.eq(history_index(pg, db), "t", "fresh: history index created")
        rows = history(pg, db)
        tap.eq([r[1] for r in rows], ["1", "2", "3"],
               "fresh: three migrations recorded")
        tap.eq([r[4] for r in rows], ["t", "t", "t"],
               "fresh: every migration succeeded")
        expected = [str(flyway_checksum(os.path.join(SQL, r[2])))
                    for r in rows]
        tap.eq([r[3] for r in rows], expected,
               "fresh: checksums follow Flyway's rule")
        r = d.benjictl("db", "info")
        tap.eq(r.stdout.count("Success"), 3, "fresh: db info lists three")
        r = d.benjictl("db", "validate")
        tap.eq(r.returncode, 0, "fresh: db validate succeeds")
        r = d.benjictl("db", "migrate")
        tap.ok(r.returncode == 0 and "0 migrations applied" in r.stdout,
               "fresh: db migrate has nothing to do", r)
        r = d.benjictl("db", "baseline")
        tap.ok(r.returncode != 0 and "already has" in r.stderr,
               "fresh: db baseline rejected on a used history", r)
        check_portfolio(d)
        check_finance(d)
        check_restart(pg, d)
    finally:
        d.cleanup()


def check_portfolio(d):
    status, _ = request(d, "GET", "/api/portfolio/positions")
    tap.eq(status, 204, "positions: empty answers 204")
    status, _ = request(d, "GET", "/api/portfolio/summary")
    tap.eq(status, 204, "summary: empty answers 204")

    status, body = request(d, "PUT", "/api/portfolio/positions/b@d",
                           {"quantity": 1, "cost_basis": 1})
    tap.eq(status, 400, "put: invalid ticker is 400")
    status, body = request(d, "PUT", "/api/portfolio/positions/AAPL",
                           {"quantity": "1e3", "cost_basis": 1})
    tap.eq((status, json.loads(body)["details"]),
           (400, {"field": "quantity", "value": "1e3"}),
           "put: exponent rejected with field and value")
    status, body = request(d, "PUT", "/api/portfolio/positions/AAPL",
                           {"quantity": "1.1234567", "cost_basis": 1})
    tap.eq(status, 400, "put: seven decimals rejected")
    status, body = request(d, "PUT", "/api/portfolio/positions/AAPL",
                           {"quantity": -1, "cost_basis": 1})
    tap.eq(status, 400, "put: negative quantity rejected")
    status, body = request(d, "PUT", "/api/portfolio/positions/AAPL",
                           {"quantity": 1})
    tap.eq((status, json.loads(body)["details"]["field"]),
           (400, "cost_basis"), "put: missing cost_basis named")
    status, _ = request(d, "PUT", "/api/portfolio/positions/AAPL",
                        raw="{not json")
    tap.eq(status, 400, "put: invalid JSON is 400")

    status, body = request(d, "PUT", "/api/portfolio/positions/aapl",
                           raw='{"quantity": 0.1, "cost_basis": 10.10}')
    tap.eq(status, 201, "put: creates with 201")
    tap.eq(body, b'{"ticker":"AAPL","quantity":0.100000,'
           b'"cost_basis":10.100000}', "put: exact decimals echoed")
    status, _ = request(d, "PUT", "/api/portfolio/positions/MSFT",
                        raw='{"quantity": "0.2", "cost_basis": "20.20"}')
    tap.eq(status, 201, "put: second position")
    status, body = request(d, "GET", "/api/portfolio/summary")
    tap.eq(status, 200, "summary: answers 200")
    tap.ok(b'"total_quantity":0.300000,' in body,
           "summary: 0.1 + 0.2 is exactly 0.3", body)
    tap.ok(b'"total_cost_basis":30.300000,' in body,
           "summary: cost basis summed exactly", body)
    summary = json.loads(body)
    tap.eq(len(summary["positions"]), 2, "summary: one entry per position")
    for p in summary["positions"]:
        tap.ok(p["quote_status"] in ("OK", "STALE") or
               p["market_value"] is None,
               f"summary: {p['ticker']} valued or reported unquoted", p)

    big = "123456789012.123456"
    status, body = request(d, "PUT", "/api/portfolio/positions/AAPL",
                           raw='{"quantity": %s, "cost_basis": '
                           '"999999999999.999999"}' % big)
    tap.eq(status, 200, "put: update answers 200")
    status, body = request(d, "GET", "/api/portfolio/positions")
    tap.ok(("\"quantity\":%s," % big).encode() in body,
           "positions: 18-digit quantity kept exactly", body)
    tap.eq([p["ticker"] for p in json.loads(body)["positions"]],
           ["AAPL", "MSFT"], "positions: sorted by ticker")
    status, body = request(d, "GET", "/api/portfolio/summary")
    tap.ok(b'"total_quantity":123456789012.323456,' in body,
           "summary: 18-digit sum exact", body)

    status, _ = request(d, "DELETE", "/api/portfolio/positions/MSFT")
    tap.eq(status, 204, "delete: answers 204")
    status, body = request(d, "DELETE", "/api/portfolio/positions/MSFT")
    tap.eq((status, json.loads(body)["code"]), (404, "POSITION_NOT_FOUND"),
           "delete: absent position is 404")
    status, _ = request(d, "POST", "/api/portfolio/positions")
    tap.eq(status, 405, "positions: POST is 405")


def check_finance(d):
    status, _ = request(d, "GET", "/api/finance/transactions")
    tap.eq(status, 204, "transactions: empty answers 204")
    for q in ("limit=0", "limit=501", "limit=abc", "limit=-1"):
        status, body = request(d, "GET", "/api/finance/transactions?" + q)
        tap.eq(status, 400, f"transactions: {q} is 400")
    status, _ = request(d, "GET", "/api/finance/transactions?limit=1&"
                        "limit=2")
    tap.eq(status, 400, "transactions: repeated limit is 400")

    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    bad = [({"amount": "1"}, "posted_at"),
           ({"posted_at": "yesterday", "amount": "1"}, "posted_at"),
           ({"posted_at": now, "amount": "1.001"}, "amount"),
           ({"posted_at": now, "amount": 1, "category": 5}, "category")]
    for body, field in bad:
        status, out = request(d, "POST", "/api/finance/transactions", body)
        tap.eq((status, json.loads(out)["details"].get("field")),
               (400, field), f"create: invalid {field} named")

    ids = []
    for amount, category in (("-0.10", "Food"), ("-0.20", " food "),
                             ("1500.00", "Salary")):
        status, out = request(d, "POST", "/api/finance/transactions",
                              raw='{"posted_at": "%s", "amount": %s, '
                              '"category": "%s", "description": "x"}'
                              % (now, amount, category))
        tap.eq(status, 201, f"create: {amount} answers 201")
        ids.append(json.loads(out)["id"])
    status, out = request(d, "GET", "/api/finance/transactions?"
                          "category=%20FOOD&limit=10")
    tap.eq((status, len(json.loads(out))), (200, 2),
           "transactions: category trimmed and case-insensitive")
    status, out = request(d, "GET", "/api/finance/transactions?limit=1")
    tap.eq(len(json.loads(out)), 1, "transactions: limit applies")

    status, out = request(d, "GET", "/api/finance/summary")
    tap.eq(status, 200, "finance summary: answers 200")
    tap.ok(b'"month_to_date_spend":0.30,' in out,
           "finance summary: 0.10 + 0.20 spend is exactly 0.30", out)
    tap.ok(b'"month_to_date_income":1500.00,' in out,
           "finance summary: income kept apart", out)

    status, out = request(d, "PATCH", f"/api/finance/transactions/{ids[0]}",
                          {"category": "Groceries", "notes": "weekly"})
    tap.eq((status, json.loads(out)["category"], json.loads(out)["notes"]),
           (200, "Groceries", "weekly"), "patch: category and notes set")
    status, out = request(d, "PATCH", f"/api/finance/transactions/{ids[0]}",
                          {"notes": None})
    tap.eq((status, json.loads(out)["notes"], json.loads(out)["category"]),
           (200, None, "Groceries"), "patch: null clears only notes")
    status, out = request(d, "PATCH", "/api/finance/transactions/nope",
                          {"notes": "x"})
    tap.eq(status, 404, "patch: unknown id is 404")
    status, out = request(d, "PATCH", f"/api/finance/transactions/{ids[0]}",
                          {"amount": "1"})
    tap.eq(status, 400, "patch: amount cannot change")


def check_restart(pg, d):
    pg.stop()
    t0 = time.monotonic()
    status, body = request(d, "GET", "/api/portfolio/positions")
    tap.ok(status == 503 and b"DATABASE_UNAVAILABLE" in body,
           "restart: 503 DATABASE_UNAVAILABLE while down", (status, body))
    tap.ok(time.monotonic() - t0 < 3, "restart: fails fast")
    status, _, body = http_get(d.port, "/actuator/health/readiness")
    tap.eq((status, json.loads(body)), (503, {"status": "OUT_OF_SERVICE"}),
           "restart: readiness OUT_OF_SERVICE while down")
    pg.start()
    ok = False
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not ok:
        status, _ = request(d, "GET", "/api/portfolio/positions")
        ok = status == 200
        time.sleep(0.1)
    tap.ok(ok, "restart: requests succeed once PostgreSQL is back")
    tap.ok(wait_ready(d, 5), "restart: readiness UP again")
    tap.eq(sessions(pg, "fresh"), 4, "restart: pool reconnected in full")


def check_adopt(pg):
    java_era(pg, "java")
    d = start(pg, "java")
    try:
        tap.ok(wait_ready(d), "adopt: readiness becomes UP", d.log_text())
        tap.eq(history_index(pg, "java"), "t",
               "adopt: missing history index created")
        rows = history(pg, "java")
        tap.eq([(r[0], r[1]) for r in rows], [("1", "1"), ("2", "2"),
               ("3", "3")], "adopt: V3 added after the Java rows")
        status, body = request(d, "GET", "/api/portfolio/positions")
        tap.ok(status == 200 and b'"quantity":3.500000' in body,
               "adopt: existing positions kept", body)
    finally:
        d.cleanup()


def check_drift_stops(pg):
    java_era(pg, "driftstop", v2_checksum=12345)
    d = Benjid(sys.argv[1], env={"SPRING_DATASOURCE_URL": pg.url("driftstop"),
                                 "SPRING_DATASOURCE_USERNAME": "benji"})
    try:
        d.start(wait=False)
        try:
            code = d.proc.wait(15)
        except subprocess.TimeoutExpired:
            code = None
        tap.eq(code, 1, "drift: benjid stops with status 1 by default")
        tap.ok(V2 in d.log_text() and "stopping benjid" in d.log_text(),
               "drift: the stop names the script", d.log_text()[-1500:])
        tap.eq(len(history(pg, "driftstop")), 2, "drift: nothing migrated "
               "before the stop")
    finally:
        d.cleanup()


def check_drift(pg):
    java_era(pg, "drift", v2_checksum=12345)
    d = start(pg, "drift",
              conf_extra="database on-migration-failure wait\n")
    try:
        tap.ok(not wait_ready(d, 3), "drift: readiness stays down")
        tap.ok(V2 in d.log_text() and "checksum mismatch" in d.log_text(),
               "drift: log names the script")
        status, body = request(d, "GET", "/api/portfolio/positions")
        tap.eq(status, 503, "drift: API answers 503")
        tap.eq(len(history(pg, "drift")), 2, "drift: nothing migrated")
        r = d.benjictl("db", "validate")
        tap.ok(r.returncode != 0 and V2 in r.stderr,
               "drift: db validate names the script", r)
        r = d.benjictl("db", "repair")
        tap.ok(r.returncode == 0 and V2 in r.stdout,
               "drift: db repair realigns the checksum", r)
        tap.ok(wait_ready(d), "drift: ready after repair", d.log_text())
    finally:
        d.cleanup()


def check_restart_unchanged(pg):
    """A second start finds the history up to date: no new rows, the
    same number of sessions and no lock left behind."""
    db = pg.create_db("again")
    for n in range(2):
        d = start(pg, db)
        try:
            tap.ok(wait_ready(d), f"again {n}: readiness becomes UP",
                   d.log_text())
            tap.eq(sessions(pg, db), 4, f"again {n}: sessions match the "
                   "pool size")
            tap.eq(advisory_locks(pg, db), "0",
                   f"again {n}: no session keeps the migration lock")
            if n == 1:
                tap.ok("0 migrations applied" in d.log_text(),
                       "again: second start applies nothing",
                       d.log_text()[-1500:])
        finally:
            d.cleanup()
    tap.eq([r[1] for r in history(pg, db)], ["1", "2", "3"],
           "again: history unchanged by the second start")


def check_race(pg):
    db = pg.create_db("race")
    a = Benjid(sys.argv[1], env={"SPRING_DATASOURCE_URL": pg.url(db)})
    b = Benjid(sys.argv[1], env={"SPRING_DATASOURCE_URL": pg.url(db)})
    try:
        a.start(wait=False)
        b.start(wait=False)
        tap.ok(a.wait_live(10) and b.wait_live(10), "race: both live")
        tap.ok(wait_ready(a) and wait_ready(b), "race: both ready",
               a.log_text() + b.log_text())
        rows = history(pg, db)
        tap.eq([r[1] for r in rows], ["1", "2", "3"],
               "race: each migration recorded once")
    finally:
        a.cleanup()
        b.cleanup()


def main():
    pg = PgCluster()
    try:
        pg.start()
        check_fresh(pg)
        check_adopt(pg)
        check_drift_stops(pg)
        check_drift(pg)
        check_restart_unchanged(pg)
        check_race(pg)
    finally:
        pg.cleanup()
    tap.done()


main()
