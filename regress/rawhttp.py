"""A raw-socket HTTP/1.1 client for tests: it sends the bytes it is given,
exactly, and reads replies without repairing anything, so hostile requests
reach the server as written."""

import json
import socket
import time


class Reply:
    """One parsed reply: status, headers (lower-case names, all values) and
    body bytes."""

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name):
        values = self.headers.get(name.lower(), [])
        return values[0] if values else None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Reply({self.status}, {self.headers!r}, {self.body[:200]!r})"


class Conn:
    """One TCP connection to 127.0.0.1:port."""

    def __init__(self, port, timeout=5.0, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.eof = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def send_slowly(self, data, delay):
        for i in range(len(data)):
            self.send(data[i:i + 1])
            time.sleep(delay)

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _line(self):
        while b"\r\n" not in self.buf:
            if not self._fill():
                return None
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_reply(self, head=False):
        """Reads one reply; head=True for a reply to HEAD, which has no
        body whatever its Content-Length. Returns None at end of stream."""
        line = self._line()
        if line is None:
            return None
        version, status, reason = (line.decode("latin-1").split(" ", 2) +
                                   [""])[:3]
        headers = {}
        while True:
            line = self._line()
            if line is None:
                raise ConnectionError("connection closed inside a head")
            if line == b"":
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.setdefault(name.strip().lower(), []).append(
                value.strip())
        body = b""
        length = headers.get("content-length")
        if not head and length is not None:
            n = int(length[0])
            while len(self.buf) < n:
                if not self._fill():
                    raise ConnectionError("connection closed inside a body")
            body, self.buf = self.buf[:n], self.buf[n:]
        return Reply(int(status), reason, headers, body)

    def closed(self, wait=2.0):
        """Returns True when the server closes the connection within wait
        seconds with no further byte."""
        self.sock.settimeout(wait)
        try:
            while not self.eof:
                if not self._fill():
                    break
        except socket.timeout:
            return False
        except OSError:
            return True
        return self.eof and self.buf == b""

    def close(self):
        self.sock.close()


def request(method, target, headers=None, body=b"", version="HTTP/1.1"):
    """Builds request bytes with Host first; headers is a list of
    (name, value) pairs sent as given."""
    lines = [f"{method} {target} {version}", "Host: 127.0.0.1"]
    for name, value in headers or []:
        lines.append(f"{name}: {value}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if isinstance(body, str):
        body = body.encode("latin-1")
    return head + body


def exchange(port, data, head=False, timeout=5.0):
    """Sends data on a new connection and returns (first reply, whether the
    server closed the connection after it)."""
    c = Conn(port, timeout)
    try:
        c.send(data)
        reply = c.read_reply(head=head)
        return reply, c.closed()
    finally:
        c.close()
