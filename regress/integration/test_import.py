"""CSV imports through the API against a private PostgreSQL cluster: each
export under regress/data/csv with the positions, cash and transactions it
must produce, re-imports that add nothing, rejected files that leave
nothing behind, the size and media type limits, and a PostgreSQL restart
during an import."""

import http.client
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Benjid, PgCluster, Tap, http_get  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DATA = os.path.join(TOP, "regress", "data", "csv")
ACTIVITY = "/api/portfolio/import"
BANK = "/api/finance/transactions/import"
tap = Tap()


def fixture(name):
    with open(os.path.join(DATA, name), "rb") as f:
        return f.read()


def post(d, path, data, ctype="text/csv", timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=timeout)
    try:
        conn.request("POST", path, body=data,
                     headers={"Content-Type": ctype})
        resp = conn.getresponse()
        body = resp.read()
        try:
            return resp.status, json.loads(body) if body else None
        except ValueError:
            return resp.status, body
    finally:
        conn.close()


def post_multipart(d, path, name, data):
    boundary = "benjiTestBoundary7MA4YWxkTrZu0gW"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"note\"\r\n\r\nignored\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f"name=\"file\"; filename=\"{name}\"\r\n"
            "Content-Type: text/csv\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    return post(d, path, body,
                f"multipart/form-data; boundary={boundary}")


def wait_ready(d, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            status, _, _ = http_get(d.port, "/actuator/health/readiness")
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def rows(pg, db, sql):
    out = pg.psql(sql, db)
    return [line.split("|") for line in out.splitlines()] if out else []


def check_brokerage(d, pg, db):
    status, body = post(d, ACTIVITY, fixture("brokerage_activity.csv"))
    tap.eq(status, 200, "brokerage: import answers 200")
    body = body or {}
    tap.eq(body.get("layout"), "brokerage-activity",
           "brokerage: layout recognised")
    tap.eq(body.get("rows_read"), 9, "brokerage: nine rows read")
    tap.eq(body.get("inserted"), 9, "brokerage: nine rows inserted")
    tap.eq(body.get("duplicates_skipped"), 0, "brokerage: no duplicates")
    tap.eq(body.get("lines_skipped"), 1, "brokerage: disclaimer skipped")
    tap.eq(rows(pg, db, "SELECT ticker, qty, basis FROM portfolio_position "
                "ORDER BY ticker"),
           [["AAPL", "8.500000", "1904.425000"],
            ["MSFT", "0.251843", "105.100000"],
            ["VOO", "2.000000", "1092.200000"]],
           "brokerage: positions at average cost")
    tap.eq(rows(pg, db, "SELECT c.kind, sum(c.amount) FROM cash_movement c "
                "JOIN account a ON a.id = c.account_id WHERE a.name = "
                "'brokerage' GROUP BY 1 ORDER BY 1"),
           [["dividend", "2.60"], ["interest", "0.87"], ["lending", "0.01"],
            ["trade", "-3090.70"], ["transfer", "7000.00"]],
           "brokerage: cash by kind")
    tap.eq(rows(pg, db, "SELECT sum(amount) FROM cash_movement"),
           [["3912.78"]], "brokerage: cash balance")
    status, _, body = http_get(d.port, "/api/portfolio/positions")
    if status == 200:
        got = {p["ticker"]: (str(p["quantity"]), str(p["cost_basis"]))
               for p in json.loads(body, parse_float=str)["positions"]}
        tap.eq(got.get("AAPL"), ("8.500000", "1904.425000"),
               "brokerage: positions endpoint shows AAPL")
    else:
        tap.skip("brokerage: positions endpoint shows AAPL",
                 f"positions endpoint answered {status}")

    status, body = post(d, ACTIVITY, fixture("brokerage_activity.csv"))
    tap.eq(status, 200, "brokerage: re-import answers 200")
    tap.eq((body or {}).get("inserted"), 0, "brokerage: re-import adds none")
    tap.eq((body or {}).get("duplicates_skipped"), 9,
           "brokerage: re-import skips nine")
    tap.eq(rows(pg, db, "SELECT count(*), sum(qty) FROM portfolio_position"),
           [["3", "10.751843"]], "brokerage: positions unchanged")
    tap.eq(rows(pg, db, "SELECT count(*) FROM portfolio_activity"),
           [["9"]], "brokerage: activity rows unchanged")
    tap.eq(rows(pg, db, "SELECT count(*) FROM import_batch WHERE kind = "
                "'brokerage'"), [["1"]], "brokerage: one batch recorded")


def check_card_signed(d, pg, db):
    status, body = post_multipart(d, BANK, "card_signed.csv",
                                  fixture("card_signed.csv"))
    tap.eq(status, 200, "card signed: multipart import answers 200")
    body = body or {}
    tap.eq(body.get("inserted"), 6, "card signed: six transactions")
    tap.eq(body.get("file"), "card_signed.csv", "card signed: file named")
    tap.eq(rows(pg, db, "SELECT -sum(amount) FROM finance_transaction "
                "WHERE amount < 0 AND category IS NOT NULL"),
           [["237.90"]], "card signed: spend of the four charges")
    tap.eq(rows(pg, db, "SELECT sum(amount) FROM finance_transaction "
                "WHERE category = 'Home'"), [["24.00"]],
           "card signed: refund offsets its category")
    tap.eq(rows(pg, db, "SELECT count(*) FROM finance_transaction WHERE "
                "description = 'CAFE LUNA, DOWNTOWN'"), [["1"]],
           "card signed: quoted comma kept")


def check_card_positive(d, pg, db):
    status, body = post(d, BANK + "?account=amex&account_kind=card",
                        fixture("card_positive_charges.csv"))
    tap.eq(status, 200, "card positive: import answers 200")
    tap.eq((body or {}).get("layout"), "card-charges-positive",
           "card positive: layout recognised")
    tap.eq(rows(pg, db, "SELECT t.description, t.amount FROM "
                "finance_transaction t JOIN account a ON a.id = "
                "t.account_id WHERE a.name = 'amex' ORDER BY t.posted_at"),
           [["PHARMACY 0042", "-12.75"],
            ["AIRLINE TICKET REFUND", "389.00"],
            ["AIRLINE TICKET", "-389.00"],
            ["BOOKSHOP ON MAIN", "-45.20"]],
           "card positive: signs flipped")
    tap.eq(rows(pg, db, "SELECT kind FROM account WHERE name = 'amex'"),
           [["card"]], "card positive: account kind card")


def check_checking(d, pg, db):
    status, body = post(d, BANK + "?account=checking-1234",
                        fixture("checking_debit_credit.csv"))
    tap.eq(status, 200, "checking: import answers 200")
    body = body or {}
    tap.eq(body.get("inserted"), 4, "checking: four rows")
    tap.eq(body.get("pending"), 1, "checking: one pending row")
    got = rows(pg, db, "SELECT t.description, t.amount, t.pending FROM "
               "finance_transaction t JOIN account a ON a.id = t.account_id "
               "WHERE a.name = 'checking-1234' ORDER BY t.posted_at DESC, "
               "t.amount")
    tap.eq(got, [["PAYROLL ACME CORP", "3150.00", "f"],
                 ["RENT NOVEMBER", "-1800.00", "f"],
                 ["ATM WITHDRAWAL", "-60.00", "f"],
                 ["GAS STATION 77", "-41.18", "t"]],
           "checking: deposit minus withdrawal, pending marked")
    tap.eq(rows(pg, db, "SELECT count(*) FROM finance_transaction WHERE "
                "description LIKE '%' || chr(13) || '%' OR description "
                "LIKE chr(65279) || '%'"), [["0"]],
           "checking: no CR or BOM stored")
    posted = fixture("checking_debit_credit.csv").replace(
        b'"Pending"', b'"Posted"')
    status, body = post(d, BANK + "?account=checking-1234", posted)
    tap.eq((status, (body or {}).get("inserted"),
            (body or {}).get("pending_cleared")), (200, 0, 1),
           "checking: posted row clears pending")


def check_identical_rows(d, pg, db):
    data = (b"Date,Description,Amount,Category\n"
            b"2026-11-05,COFFEE,-3.50,Food\n2026-11-05,COFFEE,-3.50,Food\n")
    status, body = post(d, BANK + "?account=cafe", data)
    tap.eq((status, (body or {}).get("inserted")), (200, 2),
           "identical rows: both stay")
    status, body = post(d, BANK + "?account=cafe", data)
    tap.eq((status, (body or {}).get("inserted"),
            (body or {}).get("duplicates_skipped")), (200, 0, 2),
           "identical rows: re-import adds none")


def check_rejects(d, pg, db):
    before = rows(pg, db, "SELECT count(*) FROM finance_transaction")
    data = (b"Date,Description,Amount\n11/05/2026,GOOD,-1.00\n"
            b"11/31/2026,BAD DATE,-2.00\n11/07/2026,BAD AMOUNT,12,50\n")
    status, body = post(d, BANK + "?account=rejects", data)
    tap.eq(status, 422, "rejects: bad file answers 422")
    rejects = ((body or {}).get("details") or {}).get("rejects", [])
    tap.eq([(r["line"], r["column"], r["value"]) for r in rejects],
           [(3, "Date", "11/31/2026"), (4, "", "")],
           "rejects: line, column and value of each")
    tap.eq(rows(pg, db, "SELECT count(*) FROM finance_transaction"), before,
           "rejects: nothing stored")
    tap.eq(rows(pg, db, "SELECT count(*) FROM account WHERE name = "
                "'rejects'"), [["0"]], "rejects: no account created")

    head = (b'"Activity Date","Instrument","Description","Trans Code",'
            b'"Quantity","Price","Amount"\n')
    data = head + (b'"12/3/2026","VOO","x","Sell","5","$1.00","$5.00"\n'
                   b'"12/2/2026","NEW","x","Buy","1","$1.00","($1.00)"\n')
    status, body = post(d, ACTIVITY, data)
    tap.eq(status, 422, "rejects: sell past the position answers 422")
    rejects = ((body or {}).get("details") or {}).get("rejects", [])
    tap.eq([(r["line"], r["value"]) for r in rejects], [(2, "VOO")],
           "rejects: the sell is named")
    tap.eq(rows(pg, db, "SELECT count(*) FROM portfolio_position WHERE "
                "ticker IN ('NEW') OR (ticker = 'VOO' AND qty <> 2)"),
           [["0"]], "rejects: positions untouched")

    status, _ = post(d, BANK, b"{}", ctype="application/json")
    tap.eq(status, 415, "rejects: JSON body answers 415")
    status, body = post(d, BANK + "?colour=blue", b"x")
    tap.eq(status, 400, "rejects: unknown parameter answers 400")


def check_mapping(d, pg, db):
    data = b"Booked,Text,Value\n05/11/2026,BAKERY,4.20\n"
    status, body = post(d, BANK + "?account=mapped&column.date=Booked&"
                        "column.description=Text&column.amount=Value&"
                        "sign=out-positive&date_format=dmy", data)
    tap.eq((status, (body or {}).get("layout")), (200, "mapping"),
           "mapping: explicit columns accepted")
    tap.eq(rows(pg, db, "SELECT to_char(t.posted_at AT TIME ZONE 'UTC', "
                "'YYYY-MM-DD'), t.amount FROM finance_transaction t JOIN "
                "account a ON a.id = t.account_id WHERE a.name = 'mapped'"),
           [["2026-11-05", "-4.20"]], "mapping: date and sign applied")


def big_file(n):
    lines = [b"Date,Description,Amount,Category"]
    for i in range(n):
        lines.append(b"2026-10-%02d,SHOP %d,-%d.%02d,Shops" %
                     (i % 28 + 1, i, i % 500, i % 100))
    return b"\n".join(lines) + b"\n"


def check_size_limit(pg, db):
    d = Benjid(sys.argv[1], conf_extra="http max-import-size 4096\n",
               env={"SPRING_DATASOURCE_URL": pg.url(db),
                    "SPRING_DATASOURCE_USERNAME": "benji"})
    try:
        d.start()
        tap.ok(wait_ready(d), "size limit: daemon ready", d.log_text())
        status, _ = post(d, BANK + "?account=limit", big_file(400))
        tap.eq(status, 413, "size limit: larger body answers 413")
        status, body = post(d, BANK + "?account=limit", big_file(20))
        tap.eq((status, (body or {}).get("inserted")), (200, 20),
               "size limit: smaller body imports")
    finally:
        d.cleanup()


def check_many_pieces(d, pg, db):
    n = 20000
    status, body = post(d, BANK + "?account=many", big_file(n), timeout=60)
    tap.eq((status, (body or {}).get("inserted")), (200, n),
           "pieces: a 20000-row file imports whole")
    tap.eq(rows(pg, db, "SELECT count(*) FROM finance_transaction t JOIN "
                "account a ON a.id = t.account_id WHERE a.name = 'many'"),
           [[str(n)]], "pieces: every row stored")


def check_concurrent(d, pg, db):
    n = 5000
    data = big_file(n)
    results = []

    def run():
        results.append(post(d, BANK + "?account=race", data, timeout=60))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    statuses = sorted(r[0] for r in results)
    inserted = sorted((r[1] or {}).get("inserted", 0) for r in results
                      if r[0] == 200)
    tap.ok(statuses in ([200, 200], [200, 409]),
           "concurrent: answered 200, then 200 or 409", statuses)
    tap.ok(inserted in ([0, n], [n]), "concurrent: one import stored rows",
           inserted)
    tap.eq(rows(pg, db, "SELECT count(*) FROM finance_transaction t JOIN "
                "account a ON a.id = t.account_id WHERE a.name = 'race'"),
           [[str(n)]], "concurrent: every row once")


def check_copy_hostile(d, pg, db):
    """Values that COPY text format must escape arrive unchanged."""
    data = ("Date,Description,Amount,Category,Memo\n"
            "2026-10-01,\"\\.\",-1.00,\"\\N\",C:\\dir\\new\n"
            "2026-10-02,\\N,-2.00,,\"tab\there\"\n"
            "2026-10-03,caf\u00e9 \u20ac back\\slash,-3.00,Food,\n"
            ).encode()
    # The query rejects control characters, so tabs and newlines reach
    # COPY only through the unit tests of csvimport_copy.c.
    account = "hostile%5Cback%5C.%5CN"
    status, body = post(d, BANK + "?account=" + account, data)
    tap.eq((status, (body or {}).get("inserted")), (200, 3),
           "copy: hostile values import")
    of_account = (" FROM finance_transaction t JOIN account a ON a.id = "
                  "t.account_id WHERE a.name = E'hostile\\\\back"
                  "\\\\.\\\\N' AND t.amount = ")
    stored = rows(pg, db, "SELECT t.description = E'\\\\.', "
                  "t.category = E'\\\\N', t.notes = E'C:\\\\dir"
                  "\\\\new'" + of_account + "-1")
    tap.eq(stored, [["t", "t", "t"]],
           "copy: backslash, \\. and \\N stored as text")
    stored = rows(pg, db, "SELECT t.description = E'\\\\N', "
                  "t.category IS NULL, t.notes = 'tab here'" +
                  of_account + "-2")
    tap.eq(stored, [["t", "t", "t"]],
           "copy: text \\N is not NULL, tab collapsed")
    stored = rows(pg, db, "SELECT t.description = 'caf\u00e9 \u20ac "
                  "back\\slash', t.notes IS NULL" + of_account + "-3")
    tap.eq(stored, [["t", "t"]], "copy: UTF-8 and backslash kept")
    status, body = post(d, BANK + "?account=" + account, data)
    tap.eq((status, (body or {}).get("duplicates_skipped")), (200, 3),
           "copy: hostile values found again as duplicates")


def check_copy_failure(d, pg, db):
    """A connection lost in the middle of the COPY pieces stores
    nothing."""
    n = 60000
    data = big_file(n)
    killed = {}

    def kill():
        # pg_stat_activity is read afresh on each pass of the loop.
        killed["out"] = pg.psql(
            "DO $$ DECLARE t timestamptz := clock_timestamp(); BEGIN "
            "LOOP PERFORM pg_stat_clear_snapshot(); "
            "PERFORM pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE 'COPY import_stage_bank%' AND "
            "pid <> pg_backend_pid(); "
            "IF FOUND THEN RAISE NOTICE 'terminated'; EXIT; END IF; "
            "EXIT WHEN clock_timestamp() - t > interval '25 s'; "
            "PERFORM pg_sleep(0.002); END LOOP; END $$", db)

    t = threading.Thread(target=kill)
    t.start()
    time.sleep(0.3)
    status, body = post(d, BANK + "?account=midcopy", data, timeout=60)
    t.join(40)
    tap.eq(status, 503, "copy failure: lost connection answers 503")
    tap.eq(rows(pg, db, "SELECT count(*) FROM finance_transaction t JOIN "
                "account a ON a.id = t.account_id WHERE a.name = "
                "'midcopy'"), [["0"]], "copy failure: no row stored")
    tap.eq(rows(pg, db, "SELECT count(*) FROM account WHERE name = "
                "'midcopy'"), [["0"]], "copy failure: no account stored")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, body = post(d, BANK + "?account=midcopy", data, timeout=60)
        if status == 200:
            break
        time.sleep(0.5)
    tap.eq((status, (body or {}).get("inserted")), (200, n),
           "copy failure: the same file imports whole afterwards")


def check_restart(d, pg, db):
    n = 60000
    data = big_file(n)
    result = {}

    def run():
        try:
            result["r"] = post(d, BANK + "?account=restart", data,
                               timeout=60)
        except OSError as e:
            result["r"] = (None, str(e))

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.4)
    pg.stop()
    pg.start()
    t.join(90)
    status = result.get("r", (None,))[0]
    got = rows(pg, db, "SELECT count(*) FROM finance_transaction t JOIN "
               "account a ON a.id = t.account_id WHERE a.name = 'restart'")
    count = int(got[0][0]) if got else 0
    print(f"# restart: the import during the restart answered {status} "
          f"with {count} rows stored")
    tap.ok(count in (0, n) and (status == 200) == (count == n),
           "restart: the import is whole or absent",
           f"status {status}, {count} rows")
    tap.ok(status in (200, 503), "restart: answered 200 or 503",
           result.get("r"))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, body = post(d, BANK + "?account=restart", data, timeout=60)
        if status == 200:
            break
        time.sleep(0.5)
    tap.eq(status, 200, "restart: import succeeds after the restart")
    tap.eq(rows(pg, db, "SELECT count(*) FROM finance_transaction t JOIN "
                "account a ON a.id = t.account_id WHERE a.name = "
                "'restart'"), [[str(n)]], "restart: every row once")


def main():
    pg = PgCluster()
    try:
        pg.start()
    except Exception as e:  # noqa: BLE001
        tap.skip("PostgreSQL cluster", f"cannot start: {e}")
        pg.cleanup()
        tap.done()
    d = None
    try:
        db = pg.create_db("imports")
        d = Benjid(sys.argv[1], env={"SPRING_DATASOURCE_URL": pg.url(db),
                                     "SPRING_DATASOURCE_USERNAME": "benji"})
        d.start()
        if not tap.ok(wait_ready(d), "daemon ready", d.log_text()):
            return
        check_brokerage(d, pg, db)
        check_card_signed(d, pg, db)
        check_card_positive(d, pg, db)
        check_checking(d, pg, db)
        check_identical_rows(d, pg, db)
        check_rejects(d, pg, db)
        check_mapping(d, pg, db)
        check_many_pieces(d, pg, db)
        check_copy_hostile(d, pg, db)
        check_copy_failure(d, pg, db)
        check_concurrent(d, pg, db)
        check_restart(d, pg, db)
        check_size_limit(pg, db)
    finally:
        if d is not None:
            if tap.failed:
                print("# " + d.log_text()[-3000:].replace("\n", "\n# "))
            d.cleanup()
        pg.cleanup()
    tap.done()


main()
