"""benjid as root from the staged install: sandboxed children, control
socket, reload, restart of dead children and shutdown."""

import json
import os
import pwd
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Benjid, Tap, http_get, proc_status  # noqa: E402

CHILDREN = ("http", "fetcher", "db", "secrets")
SECRET = "integration-secret-value-7f3a9c"
tap = Tap()


def check_configtest(obj):
    d = Benjid(obj)
    try:
        r = subprocess.run(d.command("-n", "-f", d.conf),
                           capture_output=True, text=True)
        tap.eq(r.returncode, 0, "configtest accepts a valid file")
        tap.eq(r.stdout.strip(), "configuration OK", "configtest prints OK")

        with open(d.conf, "a") as f:
            f.write("no such directive\n")
        r = subprocess.run(d.command("-n", "-f", d.conf),
                           capture_output=True, text=True)
        tap.eq(r.returncode, 1, "configtest rejects a bad file")
        tap.ok(f"{d.conf}:6:" in r.stderr,
               "configtest names the file and line", r.stderr)
    finally:
        d.cleanup()

    # As root, -n also checks what the start needs.
    d = Benjid(obj, conf_extra="user nosuchuser_benji\n")
    try:
        r = subprocess.run(d.command("-n", "-f", d.conf),
                           capture_output=True, text=True)
        if os.geteuid() == 0:
            tap.eq(r.returncode, 1, "configtest rejects a missing user")
            tap.ok("nosuchuser_benji not found" in r.stderr,
                   "configtest names the missing user", r.stderr)
        else:
            tap.skip("configtest rejects a missing user", "needs root")
    finally:
        d.cleanup()

    # A provider key or database password may be absent, never a placeholder.
    prod = {"SPRING_PROFILES_ACTIVE": "prod",
            "TRADING_API_KEY": "k" * 24, "ACTUATOR_USERNAME": "ops",
            "ACTUATOR_PASSWORD": "p" * 24}
    for name in ("ALPHAVANTAGE_API_KEY", "SPRING_DATASOURCE_PASSWORD"):
        d = Benjid(obj)
        try:
            env = dict(d.env, **prod)
            r = subprocess.run(d.command("-n", "-f", d.conf), env=env,
                               capture_output=True, text=True)
            tap.eq(r.returncode, 0, f"prod accepts no {name}")
            env[name] = "changeme"
            r = subprocess.run(d.command("-n", "-f", d.conf), env=env,
                               capture_output=True, text=True)
            tap.eq(r.returncode, 1, f"prod rejects a placeholder {name}")
            tap.ok(name in r.stderr and "changeme" not in r.stderr,
                   f"the message names {name}, not its value", r.stderr)
        finally:
            d.cleanup()


def check_child(name, pid, parent, user):
    st = proc_status(pid)
    uid, gid = str(user.pw_uid), str(user.pw_gid)
    tap.eq(st["Uid"].split(), [uid] * 4, f"{name}: every uid is {uid}")
    tap.eq(st["Gid"].split(), [gid] * 4, f"{name}: every gid is {gid}")
    tap.eq(st["Groups"], "", f"{name}: no supplementary groups")
    tap.eq(st["NoNewPrivs"], "1", f"{name}: no_new_privs set")
    tap.eq(st["Seccomp"], "2", f"{name}: seccomp filter loaded")
    tap.eq(int(st["CapEff"], 16), 0, f"{name}: no effective capability")
    tap.eq(int(st["CapPrm"], 16), 0, f"{name}: no permitted capability")
    tap.eq(int(st["PPid"]), parent, f"{name}: child of the parent")
    tap.ok(os.readlink(f"/proc/{pid}/root") != "/",
           f"{name}: root directory is not /")

    with open(f"/proc/{pid}/cmdline", "rb") as f:
        title = f.read().split(b"\0")[0].decode()
    tap.eq(title, f"benjid: {name}", f"{name}: process title")

    with open(f"/proc/{pid}/environ", "rb") as f:
        environ = f.read()
    tap.ok(SECRET.encode() not in environ and b"TRADING_API_KEY" not in
           environ, f"{name}: environment holds no secret", environ)

    unexpected = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if int(fd) <= 2:
            continue
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
        if not target.startswith(("socket:", "anon_inode:", "pipe:")):
            unexpected.append(f"{fd} -> {target}")
    tap.eq(unexpected, [], f"{name}: holds no file or directory")


def check_running(d, user):
    status, headers, body = http_get(d.port, "/actuator/health/liveness")
    tap.eq(status, 200, "liveness answers 200")
    tap.eq(json.loads(body), {"status": "UP"}, "liveness body is UP")
    tap.eq(headers.get("content-type"), "application/json",
           "liveness content type")

    status, _, body = http_get(d.port, "/no/such/path")
    tap.eq(status, 404, "unknown path answers 404")
    tap.eq(json.loads(body).get("code"), "NOT_FOUND", "404 body has a code")
    status, headers, _ = http_get(d.port, "/actuator/health/liveness",
                                  method="DELETE")
    tap.eq(status, 405, "wrong method answers 405")
    tap.eq(headers.get("allow"), "GET", "405 names the allowed methods")

    pids = d.children()
    tap.eq(sorted(pids), sorted(CHILDREN), "benjictl lists every child")
    tap.eq(len(set(pids.values()) | {d.proc.pid}), len(CHILDREN) + 1,
           "every process has its own pid")
    st = proc_status(d.proc.pid)
    tap.eq(st["Uid"].split()[0], "0", "parent keeps root")
    for name in CHILDREN:
        if name in pids:
            check_child(name, pids[name], d.proc.pid, user)

    for rec in d.log_records():
        if not {"time", "level", "process", "message"} <= rec.keys():
            tap.ok(False, "every log line is a JSON record", rec)
            break
    else:
        tap.ok(True, "every log line is a JSON record")


def check_reload(d):
    r = d.benjictl("reload")
    tap.eq(r.returncode, 0, "benjictl reload succeeds")
    tap.eq(r.stdout.strip(), "configuration reloaded", "benjictl reload output")

    before = d.log_text().count("configuration reloaded")
    d.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if d.log_text().count("configuration reloaded") > before:
            break
        time.sleep(0.05)
    tap.ok(d.log_text().count("configuration reloaded") > before,
           "SIGHUP reloads the configuration")
    tap.eq(http_get(d.port, "/actuator/health/liveness")[0], 200,
           "live after reload")


def check_restart(d):
    for name in CHILDREN:
        old = d.children()[name]
        os.kill(old, signal.SIGKILL)
        start = time.monotonic()
        new = None
        while time.monotonic() - start < 2:
            pid = d.children().get(name)
            if pid is not None and pid != old:
                try:
                    if http_get(d.port, "/actuator/health/liveness",
                                timeout=1)[0] == 200:
                        new = pid
                        break
                except OSError:
                    pass
            time.sleep(0.02)
        elapsed = time.monotonic() - start
        tap.ok(new is not None,
               f"{name} killed: live again with a new pid in "
               f"{elapsed:.2f} s", d.log_text()[-2000:])
        out = d.benjictl("show", "processes").stdout
        restarts = [line.split()[2] for line in out.splitlines()
                    if line.split()[:1] == [name]]
        tap.eq(restarts, ["1"], f"{name}: one restart counted")
        tap.ok(f'"{name} (pid {old}) killed by signal 9' in d.log_text(),
               f"{name}: death logged")


def check_shutdown(d):
    pids = d.children()
    start = time.monotonic()
    code = d.stop()
    tap.eq(code, 0, "SIGTERM stops benjid with status 0")
    tap.ok(time.monotonic() - start < 5, "shutdown within the deadline")
    tap.ok(not os.path.exists(d.socket), "control socket removed")
    alive = [n for n, p in pids.items() if os.path.exists(f"/proc/{p}")]
    tap.eq(alive, [], "no child outlives the parent")


def main():
    obj = sys.argv[1]
    check_configtest(obj)
    if os.geteuid() != 0:
        tap.skip("sandboxed children", "needs root")
        tap.done()
    user = pwd.getpwnam("_benjid")
    d = Benjid(obj, env={"TRADING_API_KEY": SECRET})
    try:
        d.start()
        check_running(d, user)
        check_reload(d)
        check_restart(d)
        check_shutdown(d)
    except Exception as e:  # report, then let TAP count the failure
        tap.ok(False, "integration run completed", f"{e!r}\n{d.log_text()}")
    finally:
        d.cleanup()
    tap.done()


main()
