"""Shared pieces of the integration tests: TAP output, a benjid started
from the staged install, and small readers of /proc."""

import glob
import http.client
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time


class Tap:
    """Prints TAP lines; each check is one numbered test."""

    def __init__(self):
        self.count = 0
        self.failed = 0

    def ok(self, cond, name, diag=None):
        self.count += 1
        if cond:
            print(f"ok {self.count} - {name}")
        else:
            self.failed += 1
            print(f"not ok {self.count} - {name}")
            if diag is not None:
                for line in str(diag).splitlines():
                    print(f"#   {line}")
        sys.stdout.flush()
        return cond

    def eq(self, got, expected, name):
        return self.ok(got == expected, name,
                       f"expected {expected!r}, got {got!r}")

    def skip(self, name, reason):
        self.count += 1
        print(f"ok {self.count} - {name} # SKIP {reason}")

    def done(self):
        print(f"1..{self.count}")
        sys.exit(1 if self.failed else 0)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, method="GET", headers=None, timeout=5):
    """Returns (status, headers dict with lower-case names, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def proc_status(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def rss_kib(pid):
    """Returns the resident set of process pid in KiB, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def proc_children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)],
                         capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


class Benjid:
    """One benjid started from the staged install in its own directory."""

    def __init__(self, obj, conf_extra="", env=None, user=None,
                 chroot=True):
        self.obj = os.path.abspath(obj)
        self.stage = os.path.join(self.obj, "stage")
        self.dir = tempfile.mkdtemp(prefix="benjid-test-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.socket = os.path.join(self.dir, "benjid.sock")
        self.binary = os.path.join(self.stage, "usr/sbin/benjid")
        self.benjictl_path = os.path.join(self.stage, "usr/sbin/benjictl")
        self.user = user
        self.libexec = os.path.join(self.stage, "usr/libexec/benjid")
        if user is not None:
            # An unprivileged user may not reach the build tree; the
            # children go along, in ../libexec/benjid as installed.
            os.makedirs(os.path.join(self.dir, "sbin"))
            copy = os.path.join(self.dir, "sbin", "benjid")
            shutil.copy(self.binary, copy)
            os.chmod(copy, 0o755)
            self.binary = copy
            shutil.copytree(self.libexec,
                            os.path.join(self.dir, "libexec", "benjid"))
            self.libexec = os.path.join(self.dir, "libexec", "benjid")
        lines = [
            "profile test",
            f"listen on 127.0.0.1 port {self.port}",
            f'control socket "{self.socket}"',
            "shutdown timeout PT3S",
        ]
        if chroot:
            lines.append(f'chroot "{self.stage}/var/lib/benjid/empty"')
        self.conf = os.path.join(self.dir, "benjid.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n" + conf_extra)
        os.chmod(self.conf, 0o600)
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        self.env.update(env or {})
        self.log_path = os.path.join(self.dir, "benjid.log")
        self.proc = None
        if user is not None:
            subprocess.run(["chown", "-R", user, self.dir], check=True)

    def command(self, *args):
        cmd = [self.binary, *args]
        if self.user is not None:
            pw = pwd.getpwnam(self.user)
            cmd = ["setpriv", f"--reuid={pw.pw_uid}",
                   f"--regid={pw.pw_gid}", "--clear-groups", *cmd]
        return cmd

    def start(self, wait=True):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.command("-d", "-f", self.conf),
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     env=self.env)
        if wait and not self.wait_live(10):
            raise RuntimeError("benjid did not become live:\n" +
                               self.log_text())
        return self

    def wait_live(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                status, _, _ = http_get(self.port,
                                        "/actuator/health/liveness",
                                        timeout=1)
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def children(self):
        """Maps each child's process name to its pid, from benjictl."""
        out = self.benjictl("show", "processes").stdout
        pids = {}
        for line in out.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 3 and parts[1].isdigit():
                pids[parts[0]] = int(parts[1])
        pids.pop("parent", None)
        return pids

    def benjictl(self, *args):
        return subprocess.run([self.benjictl_path, "-s", self.socket, *args],
                              capture_output=True, text=True, timeout=15)

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def log_records(self):
        records = []
        for line in self.log_text().splitlines():
            try:
                records.append(json.loads(line))
            except ValueError:
                records.append({"unparsed": line})
        return records

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def cleanup(self):
        self.stop()
        if self.proc is not None:
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]))
    return dirs[-1] if dirs else None


class PgCluster:
    """A private PostgreSQL cluster in a temporary directory on a free
    port, started with regress/pgcluster (as the postgres user when root)
    and removed by cleanup()."""

    def __init__(self):
        top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.script = os.path.join(top, "pgcluster")
        self.dir = tempfile.mkdtemp(prefix="benji-pg-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.bindir = pg_bindir()

    def _run(self, *args, check=True):
        return subprocess.run(["sh", self.script, *args, self.dir,
                               str(self.port)], capture_output=True,
                              text=True, timeout=60, check=check)

    def start(self):
        self._run("start")
        return self

    def stop(self):
        self._run("stop", check=False)

    def url(self, db="benji"):
        return f"jdbc:postgresql://127.0.0.1:{self.port}/{db}"

    def psql(self, sql, db="benji"):
        """Runs SQL as the superuser benji; returns stdout, raises on
        error."""
        cmd = [os.path.join(self.bindir, "psql"), "-h", self.dir, "-p",
               str(self.port), "-U", "benji", "-d", db, "-Atq",
               "-v", "ON_ERROR_STOP=1", "-c", sql]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(f"psql failed: {r.stderr}")
        return r.stdout.strip()

    def create_db(self, name):
        self.psql(f'CREATE DATABASE "{name}"', db="postgres")
        return name

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
