# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A session process reads a file through io_uring alone (IORING_OP_OPENAT
and IORING_OP_READ, raw system calls): no open system call, so the open
hooks that label, taint and judge never see it. In a session io_uring is
refused (io_uring_setup answers ENOSYS, as a kernel without io_uring, so
real programs fall back to plain calls) and the refusal is an alert record.
Control: the same program, same user, outside any session reads the file."""

import os
import subprocess

from confine import AGENT, AGENT_UID, GCC, agent_dir, in_session, outside, refusals
from harness import blocked, check, eq, fail, rand_marker, short

EXPECT = "BLOCKED"
HERE = os.path.dirname(os.path.abspath(__file__))


def build(t):
    out = t.tmp / "io_uring_open"
    p = subprocess.run([GCC, "-O1", "-Wall", "-Werror", "-o", str(out),
                        os.path.join(HERE, "_io_uring_open.c")],
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"gcc _io_uring_open.c: {p.stderr.decode(errors='replace')}")
    os.chmod(out, 0o755)
    return str(out)


def test_io_uring_open_labelled_file(t):
    prog = build(t)
    secret = rand_marker("prod-token")
    f = agent_dir(t) / "prod.env"
    f.write_text(secret + "\n")
    os.chmod(f, 0o644)

    # control: outside any session io_uring reads the file
    o = outside(t, prog, str(f))
    check(o.r.rc == 0 and secret in o.r.stdout,
          f"control: io_uring read by {AGENT} outside a session failed: {o.r}")

    d = t.daemon()
    o, sid = in_session(d, prog, str(f))
    eq(o.r.rc, 3, f"the io_uring program in a session ({o.r})")
    check("SETUP ENOSYS" in o.r.stdout, f"io_uring_setup must answer ENOSYS: {o.r.stdout!r}")
    check(secret not in o.r.stdout, "the file's content was read in the session")
    recs = refusals(d, sid, "io_uring_setup")
    if len(recs) != 1:
        fail(f"expected one confine_refused record for io_uring_setup, got {len(recs)}:\n"
             + d.dump(session=sid))
    rec = recs[0]
    eq(rec.get("error"), "ENOSYS", f"error of {short(rec)}")
    eq(rec.get("errno"), 38, f"errno of {short(rec)}")
    eq(rec.get("uid"), AGENT_UID, f"uid of {short(rec)}")
    check("io_uring" in str(rec.get("reason")), f"reason of {short(rec)}")
    blocked(t, "io_uring in a session: io_uring_setup answered ENOSYS, alert recorded; "
               "outside a session the same program reads the file")
