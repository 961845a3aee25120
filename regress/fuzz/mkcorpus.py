#!/usr/bin/env python3
"""Write the seed corpus of regress/fuzz/fuzz_ipc.c.

Usage: python3 regress/fuzz/mkcorpus.py [DIR]  (default regress/fuzz/corpus/ipc)

A seed is three control bytes (slice count, two cut positions) followed by
frames as a peer sends them: a 20-byte header of five native-endian uint32
(type, len, peerid, pid, flags) and a msgpack array body. Raw body seeds
exercise the path that decodes the whole input as one body. The message
numbers follow enum ipc_type in ipc/msg.h.
"""

import os
import struct
import sys

IMSG_CTL_HELLO = 1
IMSG_CTL_PEER = 2
IMSG_CTL_LISTEN = 3
IMSG_CTL_CONFIG = 4
IMSG_CTL_START = 5
IMSG_CTL_SHUTDOWN = 6
IMSG_CTL_READY = 7
IMSG_PING = 9
IMSG_PONG = 10
IMSG_CTL_PROCESS = 12
IMSG_CTL_OK = 14
IMSG_CTL_FAIL = 15
IMSG_CTL_END = 16

IPC_F_FD = 0x0001
IPC_FRAME_MAX = 1024 * 1024
HDR_SIZE = 20


class Bin(bytes):
    """A msgpack bin value, as opposed to a str."""


def pack(v):
    """Encode v in the smallest msgpack form, as msgpack-c's packer does."""
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        return pack_int(v)
    if isinstance(v, Bin):
        return pack_len(len(v), None, 0xc4, 0xc5, 0xc6) + bytes(v)
    if isinstance(v, str):
        data = v.encode()
        return pack_len(len(data), 0xa0, 0xd9, 0xda, 0xdb, fixmax=31) + data
    if isinstance(v, list):
        return pack_len(len(v), 0x90, None, 0xdc, 0xdd) + \
            b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        return pack_len(len(v), 0x80, None, 0xde, 0xdf) + \
            b"".join(pack(k) + pack(x) for k, x in v.items())
    raise TypeError(type(v))


def pack_int(v):
    if 0 <= v <= 0x7f:
        return bytes([v])
    if -32 <= v < 0:
        return struct.pack("b", v)
    if v > 0:
        for code, fmt in ((0xcc, ">B"), (0xcd, ">H"), (0xce, ">I"),
                          (0xcf, ">Q")):
            if v < 1 << (8 * struct.calcsize(fmt)):
                return bytes([code]) + struct.pack(fmt, v)
    for code, fmt in ((0xd0, ">b"), (0xd1, ">h"), (0xd2, ">i"),
                      (0xd3, ">q")):
        if v >= -(1 << (8 * struct.calcsize(fmt) - 1)):
            return bytes([code]) + struct.pack(fmt, v)
    raise ValueError(v)


def pack_len(n, fix, c8, c16, c32, fixmax=15):
    if fix is not None and n <= fixmax:
        return bytes([fix | n])
    if c8 is not None and n <= 0xff:
        return bytes([c8, n])
    if n <= 0xffff:
        return bytes([c16]) + struct.pack(">H", n)
    return bytes([c32]) + struct.pack(">I", n)


def frame(type_, fields, peerid=0, pid=4242, flags=0, body=None):
    if body is None:
        body = pack(fields)
    return struct.pack("=5I", type_, len(body), peerid, pid, flags) + body


def seed(frames, slices=1, cut1=128, cut2=200):
    return bytes([slices - 1, cut1, cut2]) + b"".join(frames)


def seeds():
    hello = frame(IMSG_CTL_HELLO, [1, 3, 0], peerid=1)
    process = frame(IMSG_CTL_PROCESS, ["http", 1234, 2, 1700000000],
                    peerid=7)
    # One valid frame of each message shape, then several back to back.
    yield "hello", seed([hello])
    yield "peer_fd", seed([frame(IMSG_CTL_PEER, [2], flags=IPC_F_FD)])
    yield "listen", seed([frame(IMSG_CTL_LISTEN, ["127.0.0.1", 8080])])
    yield "config_map", seed([frame(IMSG_CTL_CONFIG, [
        {"verbose": 2, "timeout_ms": 5000, "name": "db", "on": True}])])
    yield "start", seed([frame(IMSG_CTL_START, [])])
    yield "shutdown", seed([frame(IMSG_CTL_SHUTDOWN, [5000])])
    yield "ping_pong", seed([frame(IMSG_PING, []), frame(IMSG_PONG, [3])],
                            slices=2, cut1=30)
    yield "process", seed([process])
    yield "ok_fail", seed([frame(IMSG_CTL_OK, ["configuration reloaded"]),
                           frame(IMSG_CTL_FAIL, ["reload failed: line 3"])])
    yield "listing", seed([process, process, process,
                           frame(IMSG_CTL_END, [])], slices=3, cut1=60,
                          cut2=140)
    yield "burst", seed([hello, frame(IMSG_CTL_READY, [])] * 6 +
                        [frame(IMSG_CTL_SHUTDOWN, [1])], slices=3, cut1=7,
                        cut2=251)
    yield "all_types", seed([frame(99, [
        None, True, False, 0, 127, 128, 0xffff, 0x10000, (1 << 64) - 1,
        -1, -32, -33, -129, -(1 << 63), "", "x" * 40, "y" * 300,
        Bin(b"\x00\x01\xff"), Bin(b""), [[1, [2, [3]]], []]])])

    # Edge cases: limits, flags and malformed bodies.
    yield "nested_8", seed([frame(99, [[[[[[[[]]]]]]]])])
    yield "nested_9", seed([frame(99, [[[[[[[[[]]]]]]]]])])
    yield "str_nul", seed([frame(IMSG_CTL_OK, ["a\0b"])])
    yield "byte_split", seed([hello, process], slices=3, cut1=1, cut2=2)
    yield "frame_max", struct.pack("=3B5I", 0, 0, 0, IMSG_PING,
                                   IPC_FRAME_MAX - HDR_SIZE, 0, 0, 0) + \
        b"\x90"
    yield "frame_too_big", struct.pack("=3B5I", 0, 0, 0, IMSG_PING,
                                       IPC_FRAME_MAX, 0, 0, 0) + b"\x90"
    yield "flag_unknown", seed([frame(IMSG_PING, [], flags=0x80000000)])
    yield "truncated_body", seed([frame(IMSG_PONG, None,
                                        body=b"\x93\x01\x02")])
    yield "trailing_bytes", seed([frame(IMSG_PONG, None,
                                        body=b"\x91\x01\x02")])
    yield "bad_types", seed([
        frame(99, None, body=b"\x91\xc1"),
        frame(99, None, body=b"\x91\xca\x00\x00\x00\x00"),
        frame(99, None, body=b"\x91\xd4\x01\x00"),
        frame(99, None, body=b"\x91\xdb\xff\xff\xff\xffab")])
    yield "huge_counts", seed([
        frame(99, None, body=b"\xdd\xff\xff\xff\xff\x01"),
        frame(99, None, body=b"\x91\xdf\xff\xff\xff\xff"),
        frame(99, None, body=b"\x91\xc6\xff\xff\xff\xff\x00")])
    yield "array16_root", seed([frame(99, None,
                                     body=b"\xdc\x00\x02\xa1a\x05")])

    # Raw bodies, for the path that decodes the whole input as one body.
    yield "body_raw", pack(["http", 1234, [True, None, Bin(b"k")], -7])
    yield "body_raw_map", pack([{"a": [1, 2]}, "b"])
    yield "body_raw_deep", pack([[[[[[[["x"]]]]]]]])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "ipc")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
