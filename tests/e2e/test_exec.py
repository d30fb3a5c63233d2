# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""exec and exec_failed records: exact argv bytes, lineage, errno."""

import os

from checks import argv_of, check_common, find_one
from harness import B, check, eq, fail, rand_marker, record_mentions, short

# arguments that a shell-joined or NUL-split-then-decoded argv would mangle
HARD_ARGS = [
    b"with space",
    b'double"quote',
    b"single'quote",
    b"new\nline\n",
    b"\xff\xfe\x80 not utf-8 \xc3",
    b"",
    b"tab\tand\\backslash",
    "ünïcödé ✓".encode(),
    b"--not-an-option=1",
]


def test_exec_argv_exact(t):
    d = t.daemon()
    marker = rand_marker("argv").encode()
    args = HARD_ARGS + [marker]
    script = b'/bin/true "$@"; echo ok'
    outside_marker = rand_marker("outside").encode()
    out = t.outside([b"/bin/sh", b"-c", script, b"sh"] + HARD_ARGS + [outside_marker])
    eq(out.rc, 0, "outside run of the same command")

    r = d.run([b"/bin/sh", b"-c", script, b"sh"] + args)
    eq(r.rc, 0, f"scopelock run exit status ({r})")
    eq(r.stdout, "ok\n", "the session command's stdout")
    sid = d.finished_session(r)
    recs = d.records(session=sid)
    dump = d.dump(session=sid, types=("exec", "exec_failed"))
    execs = [x for x in recs if x.get("type") == "exec"]

    sh = find_one(execs, lambda x: B(x["filename"]) == b"/bin/sh", "exec of /bin/sh", dump)
    tr = find_one(execs, lambda x: B(x["filename"]) == b"/bin/true", "exec of /bin/true", dump)
    for x in (sh, tr):
        check_common(x, sid)
    eq(argv_of(sh), [b"/bin/sh", b"-c", script, b"sh"] + args, "argv of /bin/sh")
    eq(argv_of(tr), [b"/bin/true"] + args, "argv of /bin/true")
    # lossless and unambiguous: UTF-8 arguments are strings, the rest b64
    check(isinstance(tr["argv"][1], str), f"argv[1] should be a JSON string: {tr['argv'][1]!r}")
    check(isinstance(tr["argv"][5], dict) and "b64" in tr["argv"][5],
          f"non-UTF-8 argv[5] should be {{\"b64\":...}}: {tr['argv'][5]!r}")
    eq(tr["argv"][4], "new\nline\n", "argv[4] as a JSON string")
    eq(tr.get("args_truncated"), False, "args_truncated of /bin/true")
    eq(tr.get("args_total_bytes"), sum(len(a) + 1 for a in [b"/bin/true"] + args),
       "args_total_bytes of /bin/true")

    # lineage: /bin/true is a child of the shell
    eq(tr["ppid"], sh["pid"], "ppid of /bin/true == pid of the shell")
    eq(tr["parent_exec_id"], sh["exec_id"], "parent_exec_id of /bin/true")
    check(tr["pid"] != sh["pid"], "the shell forked before exec'ing /bin/true")
    check(sh["exec_id"] and tr["exec_id"] and sh["exec_id"] != tr["exec_id"],
          f"exec ids must be distinct and non-zero: {sh['exec_id']!r} {tr['exec_id']!r}")
    eq(tr["uid"], 0, "uid of /bin/true")
    eq(tr["comm"], "true", "comm of /bin/true (after exec)")
    eq(sh["comm"], "sh", "comm of /bin/sh")
    cwd = os.path.realpath(t.tmp).encode()
    for x in (sh, tr):
        if x.get("cwd") not in (None, ""):
            eq(B(x["cwd"]), cwd, f"cwd of {x['filename']}")

    # the same command outside the session is never recorded
    for x in d.records():
        check(not record_mentions(x, outside_marker),
              f"a process outside any session was recorded: {short(x)}")


def test_exec_lineage_and_exit(t):
    """A three-level process tree: each exec's parent_exec_id is its parent's exec_id, and each
    process has an exit record with its exit status."""
    d = t.daemon()
    m = rand_marker("lin")
    r = d.run(["/bin/sh", "-c", '/bin/sh -c "/bin/sh -c \\"exit 3\\" ; exit 5" ; exit 0', m])
    eq(r.rc, 0, f"run exit status ({r})")
    sid = d.finished_session(r)
    recs = d.records(session=sid)
    dump = d.dump(session=sid)
    execs = [x for x in recs if x.get("type") == "exec"]
    eq(len(execs), 3, "exec records of the 3 shells\n" + dump)
    top = find_one(execs, lambda x: argv_of(x)[-1] == m.encode(), "outer shell exec", dump)
    mid = find_one(execs, lambda x: x["ppid"] == top["pid"], "middle shell exec", dump)
    low = find_one(execs, lambda x: x["ppid"] == mid["pid"], "inner shell exec", dump)
    eq(mid["parent_exec_id"], top["exec_id"], "middle parent_exec_id")
    eq(low["parent_exec_id"], mid["exec_id"], "inner parent_exec_id")
    exits = {x["pid"]: x for x in recs if x.get("type") == "exit"}
    for proc, code in ((top, 0), (mid, 5), (low, 3)):
        check(proc["pid"] in exits, f"no exit record for pid {proc['pid']}\n{dump}")
        x = exits[proc["pid"]]
        check(x.get("exit_code") in (code << 8, code),
              f"exit_code of pid {proc['pid']}: expected {code} (wait status {code << 8}), "
              f"got {x.get('exit_code')!r}")
        check(x["seq"] > proc["seq"], "exit recorded after its exec")


def test_exec_failed_errno(t):
    d = t.daemon()
    m = rand_marker("fail")
    missing = str(t.tmp / f"no-such-{m}")
    noexec = t.write(f"noexec-{m}", "#!/bin/sh\nexit 0\n", mode=0o644)
    r = d.run(["/bin/sh", "-c", '"$1"; "$2"; exit 0', "sh", missing, str(noexec)])
    eq(r.rc, 0, f"run exit status ({r})")
    sid = d.finished_session(r)
    recs = d.records(session=sid, type="exec_failed")
    dump = d.dump(session=sid)
    enoent = find_one(recs, lambda x: B(x["filename"]) == missing.encode(),
                      f"exec_failed for {missing}", dump)
    check_common(enoent, sid)
    eq(enoent.get("errno"), 2, "errno of exec of a missing file")
    check(enoent.get("error") in ("ENOENT", "No such file or directory"),
          f"error of exec of a missing file: {enoent.get('error')!r}")
    eacces = find_one(recs, lambda x: B(x["filename"]) == str(noexec).encode(),
                      f"exec_failed for {noexec}", dump)
    eq(eacces.get("errno"), 13, "errno of exec of a non-executable file")
    check(eacces.get("error") in ("EACCES", "Permission denied"),
          f"error of exec of a non-executable file: {eacces.get('error')!r}")
    # neither attempt produced an exec record
    for x in d.records(session=sid, type="exec"):
        if B(x["filename"]) in (missing.encode(), str(noexec).encode()):
            fail(f"failed exec recorded as exec: {short(x)}")


def test_run_missing_command(t):
    d = t.daemon()
    missing = str(t.tmp / rand_marker("nocmd"))
    r = d.run([missing, "arg"])
    check(r.rc != 0, f"run of a missing command must fail: {r}")
    check(missing in r.stderr, f"error should name the missing command {missing!r}: {r}")
    check(any(s in r.stderr for s in ("No such file", "not found", "ENOENT")),
          f"error should say the command does not exist: {r}")


def test_exec_argv_truncated(t):
    """argv longer than the 16 KiB capture: the first bytes, the true size, the flag, and the
    loss counter "truncated" for exec."""
    d = t.daemon()
    m = rand_marker("long")
    args = [m.encode()] + [(b"%05d" % i) * 200 for i in range(20)]  # 20 x 1000 bytes
    r = d.run([b"/bin/true"] + args)
    eq(r.rc, 0, f"run ({r})")
    sid = d.finished_session(r)
    ex = find_one(d.records(session=sid, type="exec"), lambda x: B(x["filename"]) ==
                  b"/bin/true", "exec of /bin/true", d.dump(session=sid))
    area = b"".join(a + b"\0" for a in [b"/bin/true"] + args)
    eq(ex.get("args_total_bytes"), len(area), "args_total_bytes")
    eq(ex.get("args_truncated"), True, "args_truncated")
    got = b"\0".join(argv_of(ex))
    eq(got, area[:len(got)], "the captured argv is the start of the argument area")
    eq(len(got), 16384, "captured argv bytes (16 KiB default)")
    st = d.status()
    check(st["loss"]["truncated"]["exec"] >= 1,
          f"loss counter truncated/exec: {st['loss']['truncated']}")
