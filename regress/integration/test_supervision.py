"""Supervision: a child that keeps dying stops benjid with a failure
status, children leave when the parent dies, and without root the children
keep their filters."""

import os
import pwd
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import Benjid, Tap, http_get, proc_status  # noqa: E402

tap = Tap()


def wait_new_pid(d, name, old, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if d.proc.poll() is not None:
            return None
        try:
            pid = d.children().get(name)
        except subprocess.TimeoutExpired:
            pid = None
        if pid is not None and pid != old:
            return pid
        time.sleep(0.02)
    return None


def check_crash_loop(obj):
    d = Benjid(obj)
    try:
        d.start()
        pid = d.children()["fetcher"]
        # Five restarts are allowed within a minute; the sixth death ends it.
        for i in range(5):
            os.kill(pid, signal.SIGKILL)
            pid = wait_new_pid(d, "fetcher", pid, 5)
            if pid is None:
                break
        tap.ok(pid is not None, "five deaths are restarted", d.log_text())
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        try:
            code = d.proc.wait(10)
        except subprocess.TimeoutExpired:
            code = None
        tap.ok(code not in (None, 0),
               f"the sixth death stops benjid with a failure ({code})")
        tap.ok("fetcher died 6 times within 60 seconds" in d.log_text(),
               "the reason is logged", d.log_text()[-1500:])
    finally:
        d.cleanup()


def check_parent_death(obj):
    d = Benjid(obj)
    try:
        d.start()
        pids = d.children()
        os.kill(d.proc.pid, signal.SIGKILL)
        d.proc.wait()
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            alive = [n for n, p in pids.items()
                     if os.path.exists(f"/proc/{p}")
                     and proc_status(p).get("State", "").split()[:1] != ["Z"]]
            if not alive:
                break
            time.sleep(0.02)
        tap.eq(alive, [], "children exit within 2 s when the parent dies")
    finally:
        d.cleanup()


def check_unprivileged(obj):
    user = pwd.getpwnam("nobody")
    d = Benjid(obj, user="nobody", chroot=False)
    try:
        d.start()
        tap.eq(http_get(d.port, "/actuator/health/liveness")[0], 200,
               "unprivileged: liveness answers 200")
        pids = d.children()
        tap.eq(sorted(pids), ["db", "fetcher", "http", "secrets"],
               "unprivileged: every child runs")
        for name, pid in sorted(pids.items()):
            st = proc_status(pid)
            tap.eq(st["Seccomp"], "2", f"unprivileged {name}: filter loaded")
            tap.eq(st["NoNewPrivs"], "1", f"unprivileged {name}: no_new_privs")
            tap.eq(st["Uid"].split()[0], str(user.pw_uid),
                   f"unprivileged {name}: runs as the starting user")
            tap.eq(os.readlink(f"/proc/{pid}/root"), "/",
                   f"unprivileged {name}: not chrooted")
        notes = d.log_text().count("running without root")
        tap.eq(notes, 1, "unprivileged: logged once")
    finally:
        d.cleanup()


def check_journal_priority(obj):
    """Under systemd, stderr is the journal named by JOURNAL_STREAM, and
    every line starts with its syslog priority for journald to read."""
    d = Benjid(obj)
    try:
        open(d.log_path, "w").close()
        st = os.stat(d.log_path)
        d.env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        d.start()
        os.kill(d.children()["fetcher"], signal.SIGKILL)
        wait_new_pid(d, "fetcher", None, 3)
        d.stop()
        lines = d.log_text().splitlines()
        tap.ok(lines and all(line[:1] == "<" and line[2:4] == ">{"
                             for line in lines),
               "journal: every line carries a priority", lines[:3])
        tap.ok(any(line.startswith("<6>") and '"process":"parent"' in line
                   for line in lines), "journal: info lines are <6>")
        tap.ok(any(line.startswith("<3>") and "killed by signal 9" in line
                   for line in lines), "journal: errors are <3>")
        tap.ok(any(line.startswith("<6>") and '"process":"http"' in line
                   for line in lines), "journal: children prefix too")
    finally:
        d.cleanup()


def main():
    obj = sys.argv[1]
    if os.geteuid() != 0:
        tap.skip("supervision", "needs root")
        tap.done()
    check_crash_loop(obj)
    check_parent_death(obj)
    check_unprivileged(obj)
    check_journal_priority(obj)
    tap.done()


main()
