# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Assertions on audit records shared by the e2e cases (schema: docs/events.md)."""

import os

from harness import B, check, eq, fail, short

COMMON = ("seq", "type", "time", "hash")
SESSION_COMMON = ("session", "pid", "tid", "uid", "comm", "exec_id")

O_FLAGS = {
    "O_RDONLY": os.O_RDONLY, "O_WRONLY": os.O_WRONLY, "O_RDWR": os.O_RDWR,
    "O_CREAT": os.O_CREAT, "O_EXCL": os.O_EXCL, "O_NOCTTY": os.O_NOCTTY,
    "O_TRUNC": os.O_TRUNC, "O_APPEND": os.O_APPEND, "O_NONBLOCK": os.O_NONBLOCK,
    "O_DSYNC": os.O_DSYNC, "O_DIRECT": os.O_DIRECT, "O_LARGEFILE": 0o100000,
    "O_DIRECTORY": os.O_DIRECTORY, "O_NOFOLLOW": os.O_NOFOLLOW, "O_NOATIME": os.O_NOATIME,
    "O_CLOEXEC": os.O_CLOEXEC, "O_SYNC": os.O_SYNC, "O_PATH": os.O_PATH,
    "O_TMPFILE": os.O_TMPFILE,
}


def check_common(rec, session=None):
    for k in COMMON:
        check(k in rec, f"record has no {k!r}: {short(rec)}")
    if session is not None:
        for k in SESSION_COMMON:
            check(k in rec, f"{rec.get('type')} record has no {k!r}: {short(rec)}")
        eq(rec["session"], session, f"session of {rec.get('type')} record")
        check(isinstance(rec["pid"], int) and rec["pid"] > 0, f"bad pid: {short(rec)}")
        check(isinstance(rec["tid"], int) and rec["tid"] > 0, f"bad tid: {short(rec)}")


def flags_value(v):
    """Open flags as an int, from an int, a list of O_* names or "A|B"."""
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        v = [x.strip() for x in v.split("|") if x.strip()]
    if isinstance(v, list):
        n = 0
        for name in v:
            if name not in O_FLAGS:
                fail(f"unknown open flag name {name!r} in {v!r}")
            n |= O_FLAGS[name]
        return n
    fail(f"flags is neither int nor names: {v!r}")


def dev_matches(v, st_dev):
    """The record's "dev" against stat's st_dev: same number, the kernel's
    encoding (major << 20 | minor), "major:minor" or {"major","minor"}."""
    major, minor = os.major(st_dev), os.minor(st_dev)
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return v in (st_dev, (major << 20) | minor)
    if isinstance(v, str):
        return v == f"{major}:{minor}"
    if isinstance(v, dict):
        return v.get("major") == major and v.get("minor") == minor
    return False


def peer_matches(peer, port, addrs=("127.0.0.1", "::1")):
    """A TLS record's "peer": {"addr": ..., "port": ...} (docs/events.md)."""
    return (isinstance(peer, dict) and peer.get("addr") in addrs and peer.get("port") == port)


def argv_of(rec):
    check(isinstance(rec.get("argv"), list), f"record has no argv list: {short(rec)}")
    return [B(a) for a in rec["argv"]]


def find_one(recs, pred, what, dump=""):
    hits = [r for r in recs if pred(r)]
    if len(hits) != 1:
        fail(f"expected exactly one {what}, found {len(hits)}\n" + "\n".join(
            short(r, 400) for r in hits[:10]) + ("\n" + dump if dump else ""))
    return hits[0]


def find_any(recs, pred, what, dump=""):
    hits = [r for r in recs if pred(r)]
    if not hits:
        fail(f"no {what}" + ("\n" + dump if dump else ""))
    return hits


def wait_status(rec_exit, code=None, sig=None):
    """An exit record's exit_code as wait(2) encodes it, or already decoded
    (exit code, or 128+signal)."""
    v = rec_exit.get("exit_code")
    if code is not None:
        return v in (code << 8, code)
    return v in (sig, 128 + sig)
