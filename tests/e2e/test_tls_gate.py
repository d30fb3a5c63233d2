# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The TLS gate (bpf/tlsgate.bpf.h): a session exec of a file the daemon has
not analysed yet is held (SIGSTOP before its first instruction) until the
TLS room analysed it and attached what it can, then let go; a file already
analysed is not held again (a map lookup at exec), a changed file (new
ctime) is held again. Measured: how long a new executable waits."""

import os
import shutil
import time

from harness import eq


def gate(d):
    st = d.status()["tls"]
    return st["gate_released"], st["gate_held_ms"], st["gate_map_released"]


def test_each_new_file_held_once(t):
    n = 20
    copies = []
    for i in range(n):
        p = t.tmp / f"true-{i}"
        shutil.copy("/bin/true", p)
        os.chmod(p, 0o755)
        copies.append(str(p))
    d = t.daemon()
    r0, _, _ = gate(d)
    eq(r0, 0, "processes held before any session")
    # /bin/sh and /bin/true once each, every copy once, whatever the repeats
    script = "for i in 1 2 3; do /bin/true; " + "; ".join(copies) + "; done"
    t0 = time.monotonic()
    r = d.run(["/bin/sh", "-c", script])
    secs = time.monotonic() - t0
    eq(r.rc, 0, f"session ({r})")
    d.finished_session(r)
    released, held_ms, maps = gate(d)
    eq(released, n + 2, "processes held and let go: each new file once (sh, true, the copies)")
    print(f"    {3 * (n + 1) + 1} execs, {released} held at exec (new files), {maps} at mmap "
          f"(libraries new to the daemon): {held_ms} ms analysing in all; session {secs:.2f} s")
    # again: all known, nothing held
    t0 = time.monotonic()
    r = d.run(["/bin/sh", "-c", script])
    secs2 = time.monotonic() - t0
    eq(r.rc, 0, f"session ({r})")
    d.finished_session(r)
    eq(gate(d)[0], released, "processes held at exec when every file is known")
    eq(gate(d)[2], maps, "processes held at mmap when every file is known")
    print(f"    the same session again, nothing held: {secs2:.2f} s")
    # a changed file (new ctime) is held again
    os.utime(copies[0])
    os.chmod(copies[0], 0o755)
    r = d.run([copies[0]])
    eq(r.rc, 0, f"session ({r})")
    d.finished_session(r)
    eq(gate(d)[0], n + 3, "the changed copy was held again")
