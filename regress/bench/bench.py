#!/usr/bin/env python3
"""make bench: benjid against nginx, pgbench and psql on this machine.

usage: bench.py OBJDIR
OBJDIR holds a release build staged under OBJDIR/stage and evbare. Each
figure is measured RUNS times (BENCH_RUNS, default 3) and printed as the
median with min-max, beside its anchor measured in the same run. Load
runs last BENCH_SECONDS each (default 5); the import file has BENCH_ROWS
rows (default 1000000). Everything listens on 127.0.0.1 only.
BENCH_CALLGRIND=0 skips the instruction counts; BENCH_CALLGRIND=only
measures them alone; BENCH_CALLGRIND_KEEP=DIR keeps the callgrind files
there for callgrind_annotate. BENCH_ONLY picks some of the figures, as a comma list
of start, quote, portfolio, import, finance (which needs import), memory
and callgrind.
"""

import datetime
import glob
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, "regress", "integration"))
import harness  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
# The import file of 1,000,000 rows takes about a minute per run with its
# anchor; BENCH_ROWS=100000 shortens it.
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
FINANCE_ROWS = int(os.environ.get("BENCH_FINANCE_ROWS", "1000000"))
POSITIONS = 1000
PARTS = set(os.environ.get(
    "BENCH_ONLY",
    "start,quote,portfolio,import,finance,memory,callgrind").split(","))
API_KEY = "bench-key-6d1e0a9c4b7f2e58a3c1"
KEY_HEADER = "X-API-Key"
SYMBOL = "IBM"
# Requests measured under callgrind, after CALLGRIND_WARMUP that fill the
# quote cache and the allocators.
CALLGRIND_WARMUP = 200
CALLGRIND_REQUESTS = 2000

rows = []


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    r = subprocess.run(cmd, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({r.returncode}):\n"
                           f"{r.stdout}\n{r.stderr}")
    return r.stdout


def median_range(values):
    if not values:
        return "n/a", ""
    med = statistics.median(values)
    return fmt(med), f"{fmt(min(values))}-{fmt(max(values))}"


def fmt(v):
    if float(v).is_integer() and abs(v) < 1e15:
        return f"{int(v)}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def add_row(name, unit, ours, anchor_name=None, anchor=None,
            higher_better=True):
    """One table row: our runs, the anchor's runs, and the ratio of the
    medians (ours / anchor for rates, anchor / ours for costs)."""
    ratio = ""
    if anchor and ours:
        a, o = statistics.median(anchor), statistics.median(ours)
        if a and o:
            r = o / a if higher_better else a / o
            ratio = f"{r:.2f}x"
    rows.append((name, unit, ours, anchor_name or "", anchor or [], ratio))
    med = median_range(ours)
    amed = median_range(anchor) if anchor else ("", "")
    log(f"{name}: {med[0]} {unit} ({med[1]}); {anchor_name or '-'} "
        f"{amed[0]} ({amed[1]}) {ratio}")


def print_table():
    head = ("figure", "unit", "median", "min-max", "anchor",
            "anchor median", "anchor min-max", "ratio")
    lines = []
    for name, unit, ours, aname, anchor, ratio in rows:
        om, orng = median_range(ours)
        am, arng = median_range(anchor) if anchor else ("", "")
        lines.append((name, unit, om, orng, aname, am, arng, ratio))
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths)) +
           " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    for line in lines:
        out.append("| " + " | ".join(str(x).ljust(w)
                                     for x, w in zip(line, widths)) + " |")
    print("\n".join(out), flush=True)


# Load generators

def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)$", text)
    v = float(m.group(1))
    return {"us": v / 1000, "ms": v, "s": v * 1000}[m.group(2)]


def wrk(url, conns, seconds=SECONDS, headers=()):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency",
           "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    out = run(cmd + [url], timeout=seconds + 30)
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)",
                                  out).group(1)),
           "p50": to_ms(re.search(r"\s50%\s+(\S+)", out).group(1)),
           "p99": to_ms(re.search(r"\s99%\s+(\S+)", out).group(1)),
           "errors": 0}
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    if m:
        res["errors"] += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["errors"] += int(m.group(1))
    return res


class Pg(harness.PgCluster):
    def sql(self, sql):
        return run([os.path.join(self.bindir, "psql"), "-h", "127.0.0.1",
                    "-p", str(self.port), "-U", "benji", "-d", "benji",
                    "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                   timeout=600).strip()

    def pgbench(self, script, conns, seconds=SECONDS):
        out = run([os.path.join(self.bindir, "pgbench"), "-h", "127.0.0.1",
                   "-p", str(self.port), "-U", "benji", "-n",
                   "-M", "prepared", f"-c{conns}", "-j2", f"-T{seconds}",
                   "-f", script, "benji"], timeout=seconds + 60)
        return float(re.search(r"tps = ([\d.]+)", out).group(1))

    def statements_of(self, fn):
        """Runs fn() with every statement logged; returns the SQL of each
        prepared statement it executed with its parameters in place."""
        logf = os.path.join(self.dir, "server.log")
        start = os.path.getsize(logf)
        self.sql("ALTER SYSTEM SET log_min_duration_statement = 0")
        self.sql("SELECT pg_reload_conf()")
        time.sleep(0.3)
        try:
            fn()
        finally:
            self.sql("ALTER SYSTEM RESET log_min_duration_statement")
            self.sql("SELECT pg_reload_conf()")
        with open(logf, errors="replace") as f:
            f.seek(start)
            text = f.read()
        stmts = []
        sql = None
        for line in text.splitlines():
            m = re.search(r"LOG:  duration: [\d.]+ ms  execute [^:]+: (.*)",
                          line)
            if m:
                sql = m.group(1)
                if "$1" not in sql:
                    stmts.append(sql)
                    sql = None
                continue
            m = re.search(r"DETAIL:  parameters: (.*)", line)
            if m and sql is not None:
                params = dict(re.findall(r"\$(\d+) = (NULL|'(?:[^']|'')*')",
                                         m.group(1)))
                for n in sorted(params, key=int, reverse=True):
                    sql = sql.replace(f"${n}", params[n])
                stmts.append(sql)
                sql = None
        return [s for s in stmts if "pg_reload_conf" not in s]


class Nginx:
    def __init__(self, workdir, body):
        self.dir = os.path.join(workdir, "nginx")
        os.makedirs(self.dir)
        self.port = harness.free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
pid {self.dir}/nginx.pid;
error_log {self.dir}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log {self.dir}/access.log;
    keepalive_requests 1000;
    client_body_temp_path {self.dir};
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            default_type application/json;
            return 200 '{body}';
        }}
    }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", conf, "-p", self.dir],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def wait_port(port, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listens on port {port}")


# benjid

def benjid_conf(pg):
    return (
        "profile prod\n"
        "quote-cache ttl PT1H\n"
        "quote-cache size 4096\n"
        "database statement-timeout PT600S\n"
        "http max-import-size 256M\n"
        "http body-timeout PT600S\n"
        "http max-requests-per-connection 1000\n")


def benjid_env(pg):
    return {"TRADING_API_KEY": API_KEY,
            "TRADING_API_KEY_HEADER": KEY_HEADER,
            "ACTUATOR_USERNAME": "bench",
            "ACTUATOR_PASSWORD": "bench-password-0f3a5c7e9b1d",
            "TRADING_MARKETDATA_PROVIDERS": "fake",
            "SPRING_DATASOURCE_URL": pg.url(),
            "SPRING_DATASOURCE_USERNAME": "benji"}


def get(port, path, headers=None, timeout=10):
    return harness.http_get(port, path, headers=headers, timeout=timeout)


def wait_ready(port, proc, seconds=30):
    """Polls the readiness probe; returns the time of its first 200."""
    deadline = time.monotonic() + seconds
    s = socket.socket()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("benjid exited during startup")
        try:
            status, _, _ = get(port, "/actuator/health/readiness", timeout=1)
            if status == 200:
                return time.monotonic()
        except OSError:
            pass
        time.sleep(0.001)
    s.close()
    raise RuntimeError("benjid not ready in time")


def start_benjid(obj, pg):
    d = harness.Benjid(obj, conf_extra=benjid_conf(pg), env=benjid_env(pg))
    t0 = time.monotonic()
    d.start(wait=False)
    t1 = wait_ready(d.port, d.proc)
    return d, (t1 - t0) * 1000


def memory(d):
    """Total RSS and PSS in MB of the parent and its children."""
    pids = [d.proc.pid] + harness.proc_children(d.proc.pid)
    rss = pss = 0
    for pid in pids:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss += int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1])
    return rss / 1024, pss / 1024


# The figures

def bench_startup(obj, pg):
    d, _ = start_benjid(obj, pg)    # applies the migrations
    d.cleanup()
    times = []
    for _ in range(RUNS + 2):
        d, ms = start_benjid(obj, pg)
        times.append(ms)
        d.cleanup()
    add_row("start to ready (no pending migration)", "ms", times[2:],
            higher_better=False)


def bench_quotes(d, workdir, bare, load=True):
    """Measures the cached quote rows. With load False, it only saves the
    reply body that the callgrind count and the bare server send."""
    hdr = f"{KEY_HEADER}: {API_KEY}"
    path = f"/api/quotes/{SYMBOL}"
    status, _, body = get(d.port, path, {KEY_HEADER: API_KEY})
    if status != 200:
        raise RuntimeError(f"quote answered {status}: {body!r}")
    bodyfile = os.path.join(workdir, "quote.json")
    with open(bodyfile, "wb") as f:
        f.write(body)
    if not load:
        return
    nginx = Nginx(workdir, body.decode())
    bare_port = harness.free_port()
    ev = subprocess.Popen([bare, str(bare_port), bodyfile])
    wait_port(bare_port)
    try:
        for conns in (8, 64, 256):
            ours, anchor, floor = [], [], []
            for _ in range(RUNS):
                ours.append(wrk(f"http://127.0.0.1:{d.port}{path}", conns,
                                headers=[hdr]))
                anchor.append(wrk(f"http://127.0.0.1:{nginx.port}{path}",
                                  conns))
                if conns == 64:
                    floor.append(wrk(f"http://127.0.0.1:{bare_port}{path}",
                                     conns))
            name = f"cached quote, key checked, {conns} conns"
            add_row(name + ": rate", "req/s", [r["rps"] for r in ours],
                    "nginx 1 worker", [r["rps"] for r in anchor])
            add_row(name + ": p50", "ms", [r["p50"] for r in ours],
                    "nginx 1 worker", [r["p50"] for r in anchor], False)
            add_row(name + ": p99", "ms", [r["p99"] for r in ours],
                    "nginx 1 worker", [r["p99"] for r in anchor], False)
            add_row(name + ": errors", "count",
                    [r["errors"] for r in ours], "nginx 1 worker",
                    [r["errors"] for r in anchor], False)
            if floor:
                add_row("bare evhttp reply, 64 conns: rate", "req/s",
                        [r["rps"] for r in floor], "nginx 1 worker",
                        [r["rps"] for r in anchor])
    finally:
        nginx.stop()
        ev.terminate()
        ev.wait()
    return body


def write_bank_csv(path, n):
    """A checking export with n distinct rows dated this month (UTC)."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    with open(path, "w") as f:
        f.write('"Date","Status","Type","Description","Withdrawal",'
                '"Deposit","RunningBalance"\n')
        for i in range(n):
            day = today.replace(day=1 + i % today.day)
            cents = 100 + (i * 7919) % 50000
            amount = f"${cents // 100:,}.{cents % 100:02d}"
            if i % 10 == 0:
                w, dep = "", amount
            else:
                w, dep = amount, ""
            f.write(f'"{day:%m/%d/%Y}","Posted","DEBIT","SHOP {i}",'
                    f'"{w}","{dep}",""\n')


def post_file(port, path, filename, ctype="text/csv", timeout=600):
    import http.client
    size = os.path.getsize(filename)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        with open(filename, "rb") as f:
            conn.request("POST", path, body=f,
                         headers={"Content-Type": ctype,
                                  "Content-Length": str(size),
                                  KEY_HEADER: API_KEY})
            resp = conn.getresponse()
            return resp.status, resp.read()
    finally:
        conn.close()


def bench_import(d, pg, workdir):
    csv = os.path.join(workdir, "bank.csv")
    dump = os.path.join(workdir, "finance_transaction.csv")
    os.chmod(workdir, 0o755)
    write_bank_csv(csv, ROWS)
    ours, anchor = [], []
    psql = os.path.join(pg.bindir, "psql")
    for i in range(RUNS):
        pg.sql("TRUNCATE finance_transaction, import_batch, account, "
               "cash_movement, portfolio_activity RESTART IDENTITY")
        t0 = time.monotonic()
        status, body = post_file(d.port, "/api/finance/transactions/import"
                                 "?account=bench-checking", csv)
        t = time.monotonic() - t0
        if status != 200:
            raise RuntimeError(f"import answered {status}: {body[:300]!r}")
        stored = int(pg.sql("SELECT count(*) FROM finance_transaction"))
        if stored != ROWS:
            raise RuntimeError(f"import stored {stored} of {ROWS} rows")
        ours.append(ROWS / t)
        if i == 0:
            pg.sql(f"\\copy finance_transaction TO '{dump}' CSV")
        pg.sql("TRUNCATE finance_transaction")
        t0 = time.monotonic()
        run([psql, "-h", "127.0.0.1", "-p", str(pg.port), "-U", "benji",
             "-d", "benji", "-q", "-v", "ON_ERROR_STOP=1", "-c",
             f"\\copy finance_transaction FROM '{dump}' CSV"], timeout=600)
        anchor.append(ROWS / (time.monotonic() - t0))
    add_row(f"bank CSV import, {ROWS} rows", "rows/s", ours,
            "psql \\copy", anchor)
    fill_transactions(pg, FINANCE_ROWS - ROWS)
    pg.sql("VACUUM ANALYZE")


def fill_transactions(pg, n):
    """Adds n rows written as through the API, dated this month."""
    if n <= 0:
        return
    pg.sql("INSERT INTO finance_transaction (id, posted_at, description, "
           "amount, category) SELECT gen_random_uuid()::text, "
           "date_trunc('month', now()) + (i % 20) * interval '1 hour', "
           "'FILL ' || i, CASE WHEN i % 10 = 0 THEN 25.00 ELSE -12.34 END, "
           "'category ' || (i % 20) FROM generate_series(1, "
           f"{n}) AS i")


def bench_summary(d, pg, workdir, name, path, conns=8):
    hdr = {KEY_HEADER: API_KEY}
    stmts = pg.statements_of(lambda: get(d.port, path, hdr, timeout=60))
    if not stmts:
        raise RuntimeError(f"{path}: no statement logged")
    script = os.path.join(workdir, name.replace(" ", "_") + ".sql")
    with open(script, "w") as f:
        f.write(";\n".join(stmts) + ";\n")
    ours, anchor = [], []
    for _ in range(RUNS):
        ours.append(wrk(f"http://127.0.0.1:{d.port}{path}", conns,
                        headers=[f"{KEY_HEADER}: {API_KEY}"])["rps"])
        anchor.append(pg.pgbench(script, conns))
    add_row(f"{name}, {conns} conns", "req/s", ours,
            f"pgbench, {len(stmts)} statement(s)", anchor)


def bench_portfolio(d, pg, workdir):
    tickers = []
    for i in range(POSITIONS):
        a, b, c = i // 676, (i // 26) % 26, i % 26
        tickers.append("Q" + "".join(chr(65 + x) for x in (a, b, c)))
    values = ",".join(f"('{t}', {1 + i % 50}.5, {100 + i}.25)"
                      for i, t in enumerate(tickers))
    pg.sql("TRUNCATE portfolio_position RESTART IDENTITY")
    pg.sql(f"INSERT INTO portfolio_position (ticker, qty, basis) "
           f"VALUES {values}")
    hdr = {KEY_HEADER: API_KEY}
    status, _, body = get(d.port, "/api/portfolio/summary", hdr, timeout=60)
    if status != 200:
        raise RuntimeError(f"summary answered {status}: {body[:300]!r}")
    bench_summary(d, pg, workdir, "portfolio summary, 1000 positions",
                  "/api/portfolio/summary")


def callgrind_totals(files):
    """Instructions per process name of callgrind output files: "http",
    "fetcher", "db" and "secrets" for the children (from the -P argument
    on their cmd: line), "parent" for any other command."""
    totals = {}
    for fn in files:
        name, total = "parent", 0
        with open(fn, errors="replace") as f:
            for line in f:
                if line.startswith("cmd:"):
                    m = re.search(r" -P (\S+)", line)
                    if m:
                        name = m.group(1)
                elif line.startswith(("summary:", "totals:")):
                    total = int(line.split()[1])
                    break
        totals[name] = totals.get(name, 0) + total
    return totals


def build_profile(obj):
    """Builds the profiling variant (-DBENJI_PROFILE, no seccomp filter)
    into OBJ-profile and stages it there; returns that directory."""
    pobj = obj + "-profile"
    rel = os.path.relpath(pobj, TOP)
    make = ["make", "-C", TOP, f"OBJ={rel}", "SANITIZE=",
            "EXTRA_CFLAGS=-DBENJI_PROFILE"]
    run(make + ["all"], timeout=900)
    run(make + ["install", f"DESTDIR={pobj}/stage", "PREFIX=/usr"],
        timeout=300)
    return pobj


def callgrind_quotes(obj, pg, workdir, bare, bodyfile):
    """Instructions per cached quote request: the profiling build runs
    under callgrind twice, with the warm-up alone and with the warm-up
    plus CALLGRIND_REQUESTS requests; the difference per request removes
    startup, warm-up and shutdown."""
    if shutil.which("valgrind") is None:
        log("valgrind missing: no instruction counts")
        return
    pobj = build_profile(obj)
    runs = [callgrind_benjid(pobj, pg, workdir, n)
            for n in (CALLGRIND_WARMUP,
                      CALLGRIND_WARMUP + CALLGRIND_REQUESTS)]
    per = {name: (runs[1].get(name, 0) - runs[0].get(name, 0)) /
           CALLGRIND_REQUESTS for name in runs[1]}
    log("instructions per cached quote by process: " +
        ", ".join(f"{k} {v:.0f}" for k, v in sorted(per.items())))
    ours = [sum(per.get(k, 0) for k in ("http", "secrets", "fetcher"))]
    base = []
    for n in (CALLGRIND_WARMUP, CALLGRIND_WARMUP + CALLGRIND_REQUESTS):
        outdir = tempfile.mkdtemp(prefix="cg-", dir=workdir)
        port = harness.free_port()
        p = subprocess.Popen(["valgrind", "--tool=callgrind", "-q",
                              f"--callgrind-out-file={outdir}/cg.%p",
                              bare, str(port), bodyfile, str(n)])
        wait_port(port, 60)
        client_requests(port, f"/api/quotes/{SYMBOL}", n, key=False)
        p.wait(60)
        base.append(sum(callgrind_totals(
            glob.glob(f"{outdir}/cg.*")).values()))
    floor = (base[1] - base[0]) / CALLGRIND_REQUESTS
    add_row("instructions per cached quote request, summed over http, "
            "secrets and fetcher (callgrind)", "instr", ours,
            "bare evhttp reply", [floor], False)


def callgrind_benjid(pobj, pg, workdir, n):
    """Instructions per process of the profiling build serving n quotes.
    callgrind writes a child's file when the child exits, inside its
    chroot, so the output directory is made at the same path there too."""
    outdir = tempfile.mkdtemp(prefix="cg-", dir=workdir)
    os.chmod(outdir, 0o777)
    d = harness.Benjid(pobj, conf_extra=benjid_conf(pg), env=benjid_env(pg))
    root = os.path.join(d.stage, "var/lib/benjid/empty")
    inner = root + outdir
    os.makedirs(inner)
    os.chmod(inner, 0o777)
    d.log = open(d.log_path, "w")
    d.proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--trace-children=yes",
         f"--callgrind-out-file={outdir}/cg.%p", "-q",
         d.binary, "-d", "-f", d.conf],
        stdin=subprocess.DEVNULL, stdout=d.log, stderr=d.log, env=d.env)
    try:
        wait_ready(d.port, d.proc, 120)
        client_requests(d.port, f"/api/quotes/{SYMBOL}", n)
    except RuntimeError:
        log(f"benjid under callgrind failed:\n{d.log_text()}")
        raise
    finally:
        d.stop(timeout=60)
        d.cleanup()
    files = glob.glob(f"{outdir}/cg.*") + glob.glob(f"{inner}/cg.*")
    totals = callgrind_totals(files)
    keep = os.environ.get("BENCH_CALLGRIND_KEEP")
    if keep:
        os.makedirs(os.path.join(keep, str(n)), exist_ok=True)
        for fn in files:
            shutil.copy(fn, os.path.join(keep, str(n)))
    top = outdir.lstrip("/").split("/")[0]
    shutil.rmtree(os.path.join(root, top), ignore_errors=True)
    for name in ("http", "fetcher", "secrets"):
        if name not in totals:
            raise RuntimeError(f"no callgrind output of the {name} child")
    return totals


def callgrind_only(obj, pg, workdir, bare):
    """BENCH_CALLGRIND=only: the instruction counts alone, with the quote
    body that bench_quotes() would have saved."""
    d, _ = start_benjid(obj, pg)
    try:
        status, _, body = get(d.port, f"/api/quotes/{SYMBOL}",
                              {KEY_HEADER: API_KEY})
    finally:
        d.cleanup()
    if status != 200:
        raise RuntimeError(f"quote answered {status}: {body!r}")
    bodyfile = os.path.join(workdir, "quote.json")
    with open(bodyfile, "wb") as f:
        f.write(body)
    callgrind_quotes(obj, pg, workdir, bare, bodyfile)


def client_requests(port, path, n, key=True):
    """n requests on one keep-alive connection (a new one every 100)."""
    import http.client
    hdr = {KEY_HEADER: API_KEY} if key else {}
    conn = None
    for i in range(n):
        if i % 100 == 0:
            if conn:
                conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", path, headers=hdr)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"{path} answered {r.status}")
    conn.close()


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = open("/proc/loadavg").read().split()[:3]
    return (f"{os.cpu_count()} cores, {cpu}; load average before: "
            f"{' '.join(load)}")


def main():
    obj = os.path.abspath(sys.argv[1])
    bare = os.path.join(obj, "evbare")
    workdir = tempfile.mkdtemp(prefix="benji-bench-")
    os.chmod(workdir, 0o755)
    log(machine())
    pg = Pg()
    t_start = time.monotonic()
    try:
        pg.start()
        if os.environ.get("BENCH_CALLGRIND") == "only":
            callgrind_only(obj, pg, workdir, bare)
        else:
            measure_all(obj, pg, workdir, bare)
    finally:
        pg.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"# {machine()}; {RUNS} runs of {SECONDS} s; "
          f"{time.monotonic() - t_start:.0f} s in all")
    print_table()


def measure_all(obj, pg, workdir, bare):
    d = None
    try:
        if "start" in PARTS:
            bench_startup(obj, pg)
        d, _ = start_benjid(obj, pg)
        time.sleep(0.5)
        idle = memory(d)
        if "quote" in PARTS or "callgrind" in PARTS:
            bench_quotes(d, workdir, bare, "quote" in PARTS)
        if "portfolio" in PARTS:
            bench_portfolio(d, pg, workdir)
        if "import" in PARTS:
            bench_import(d, pg, workdir)
        if "finance" in PARTS:
            bench_summary(d, pg, workdir, "finance summary, "
                          f"{max(ROWS, FINANCE_ROWS)} transactions",
                          "/api/finance/summary")
        loaded = memory(d)
        if "memory" in PARTS:
            add_row("memory idle, all processes: RSS", "MB", [idle[0]])
            add_row("memory idle, all processes: PSS", "MB", [idle[1]])
            add_row("memory after load, all processes: RSS", "MB",
                    [loaded[0]])
            add_row("memory after load, all processes: PSS", "MB",
                    [loaded[1]])
        d.cleanup()
        d = None
        if ("callgrind" in PARTS and
                os.environ.get("BENCH_CALLGRIND", "1") == "1"):
            callgrind_quotes(obj, pg, workdir, bare,
                             os.path.join(workdir, "quote.json"))
    finally:
        if d is not None:
            d.cleanup()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    main()
