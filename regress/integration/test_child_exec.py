"""Each child is its own executable under ../libexec/benjid: it maps only
the libraries it uses, and benjid does not start without one of them."""

import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from harness import Benjid, Tap  # noqa: E402

CHILDREN = ("http", "fetcher", "db", "secrets")
# Libraries a child must not map, by the start of their file names.
FORBIDDEN = {
    "http": ("libcurl", "libpq", "libssl", "libcrypto"),
    "secrets": ("libcurl", "libpq", "libssl", "libcrypto"),
    "fetcher": ("libpq",),
    "db": ("libcurl",),
}
# What the child does use: proves the maps were read at all.
EXPECTED = {
    "http": "libevent", "secrets": "libsodium",
    "fetcher": "libcurl", "db": "libpq",
}
tap = Tap()


def mapped_files(pid):
    names = set()
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].startswith("/"):
                names.add(os.path.basename(parts[5].strip()))
    return names


def check_maps(obj):
    d = Benjid(obj)
    try:
        d.start()
        pids = d.children()
        tap.eq(sorted(pids), sorted(CHILDREN), "every child is running")
        for name in CHILDREN:
            pid = pids.get(name)
            if pid is None:
                tap.ok(False, f"{name}: running")
                continue
            exe = os.path.basename(os.readlink(f"/proc/{pid}/exe"))
            tap.eq(exe, f"benjid-{name}", f"{name}: its own executable")
            libs = mapped_files(pid)
            tap.ok(any(n.startswith(EXPECTED[name]) for n in libs),
                   f"{name}: maps {EXPECTED[name]}", sorted(libs))
            bad = sorted(n for n in libs if n.startswith(FORBIDDEN[name]))
            tap.eq(bad, [], f"{name}: maps none of "
                   f"{', '.join(FORBIDDEN[name])}")
    except Exception as e:  # report, then let TAP count the failure
        tap.ok(False, "maps checked", f"{e!r}\n{d.log_text()}")
    finally:
        d.cleanup()


def layout(d, missing, mode):
    """A private sbin and libexec/benjid next to it, one child altered."""
    sbin = os.path.join(d.dir, "sbin")
    libexec = os.path.join(d.dir, "libexec", "benjid")
    os.makedirs(sbin)
    shutil.copy(d.binary, os.path.join(sbin, "benjid"))
    shutil.copytree(d.libexec, libexec)
    path = os.path.join(libexec, f"benjid-{missing}")
    if mode is None:
        os.unlink(path)
    else:
        os.chmod(path, mode)
    d.binary = os.path.join(sbin, "benjid")
    return os.path.realpath(path)


def check_missing(obj, missing, mode, what):
    d = Benjid(obj)
    try:
        path = layout(d, missing, mode)
        d.start(wait=False)
        try:
            code = d.proc.wait(10)
        except subprocess.TimeoutExpired:
            code = None
        tap.eq(code, 1, f"{what} benjid-{missing}: benjid exits 1")
        log = d.log_text()
        tap.ok(path in log, f"{what} benjid-{missing}: message names "
               "the path", log)
        tap.ok("listening on" not in log,
               f"{what} benjid-{missing}: nothing started", log)
    finally:
        d.cleanup()


def check_removed(obj):
    """A child executable removed while benjid runs: the restart fails
    with a message that names it."""
    d = Benjid(obj)
    try:
        path = layout(d, "fetcher", 0o755)
        d.start()
        os.rename(path, path + ".moved")
        os.kill(d.children()["fetcher"], signal.SIGKILL)
        try:
            code = d.proc.wait(30)
        except subprocess.TimeoutExpired:
            code = None
        tap.eq(code, 1, "benjid-fetcher removed: benjid stops with 1")
        log = d.log_text()
        tap.ok(f"cannot run the fetcher executable {path}" in log,
               "benjid-fetcher removed: the failed start names it", log)
    finally:
        d.cleanup()


def check_noaction(obj):
    """benjid -n checks the child executables too."""
    d = Benjid(obj)
    try:
        path = layout(d, "fetcher", None)
        r = subprocess.run([d.binary, "-n", "-f", d.conf],
                           capture_output=True, text=True, timeout=30,
                           env=d.env)
        tap.eq(r.returncode, 1, "benjid -n with benjid-fetcher missing: "
               "exits 1")
        tap.ok(path in r.stdout + r.stderr, "benjid -n: message names the "
               "path", r.stdout + r.stderr)
    finally:
        d.cleanup()


def main():
    obj = sys.argv[1]
    check_maps(obj)
    check_missing(obj, "db", None, "missing")
    check_missing(obj, "http", 0o644, "not executable")
    check_missing(obj, "secrets", 0o775, "group-writable")
    check_missing(obj, "fetcher", 0o757, "world-writable")
    check_noaction(obj)
    check_removed(obj)
    tap.done()


if __name__ == "__main__":
    main()
