# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The audit log as evidence: gapless seq, hash chain checked independently
here, `scopelock verify` accepting the real log and finding one flipped byte,
a removed record, a cut tail; rotation with zstd keeping the chain."""

import json
import os
import shutil

from harness import (PY, check, check_chain, cli, compress_segment_bytes, decompress_segment, eq,
                     rand_marker, read_raw_lines, segment_files)


def run_some_sessions(d, n=2):
    sids = []
    for i in range(n):
        m = rand_marker(f"chain{i}")
        r = d.run(["/bin/sh", "-c", 'cat /etc/hostname >/dev/null; /bin/true "$1"', "sh",
                   m + "\xe9", ])
        eq(r.rc, 0, f"session {i} ({r})")
        sids.append(d.finished_session(r))
    return sids


def verify(*paths):
    return cli("verify", *paths, timeout=60)


def flip_byte_in_middle(lines):
    """Flip the case of one letter inside the middle record's "type" value:
    still JSON, still the same keys, only the content changed."""
    i = len(lines) // 2
    line = lines[i]
    pos = line.index(b'"type":"') + len(b'"type":"')
    lines[i] = line[:pos] + bytes([line[pos] ^ 0x20]) + line[pos + 1:]
    return i


def test_chain_and_verify(t):
    d = t.daemon()
    sids = run_some_sessions(d, 2)
    lines = d.raw_lines()
    n = check_chain(lines)
    check(n >= 6, f"only {n} records in the log")
    for sid in sids:
        recs = d.records(session=sid)
        check(len(recs) >= 3, f"session {sid} has only {len(recs)} records")
    r = verify(d.audit)
    eq(r.rc, 0, f"scopelock verify of the live log ({r})")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    lines = read_raw_lines(d.audit)
    check_chain(lines)
    r = verify(d.audit)
    eq(r.rc, 0, f"scopelock verify after SIGTERM ({r})")
    r = verify(os.path.join(d.audit, "audit.jsonl"))
    eq(r.rc, 0, f"scopelock verify FILE ({r})")

    # one flipped byte
    ls = list(lines)
    i = flip_byte_in_middle(ls)
    work = t.tmp / "flipped"
    work.mkdir()
    (work / "audit.jsonl").write_bytes(b"".join(x + b"\n" for x in ls))
    r = verify(str(work))
    eq(r.rc, 1, f"scopelock verify of a log with one flipped byte ({r})")
    seq = json.loads(lines[i])["seq"]
    out = r.stdout + r.stderr
    check(str(seq) in out, f"verify must name the altered record (seq {seq}, line {i + 1}): "
          f"{out!r}")

    # one record removed
    ls = list(lines)
    del ls[len(ls) // 2]
    work = t.tmp / "removed"
    work.mkdir()
    (work / "audit.jsonl").write_bytes(b"".join(x + b"\n" for x in ls))
    r = verify(str(work))
    eq(r.rc, 1, f"scopelock verify of a log with a record removed ({r})")

    # two records swapped
    ls = list(lines)
    j = len(ls) // 2
    ls[j], ls[j + 1] = ls[j + 1], ls[j]
    work = t.tmp / "swapped"
    work.mkdir()
    (work / "audit.jsonl").write_bytes(b"".join(x + b"\n" for x in ls))
    r = verify(str(work))
    eq(r.rc, 1, f"scopelock verify of a log with two records swapped ({r})")

    # the last record cut in half
    data = b"".join(x + b"\n" for x in lines)
    work = t.tmp / "cut"
    work.mkdir()
    (work / "audit.jsonl").write_bytes(data[:len(data) - len(lines[-1]) // 2])
    r = verify(str(work))
    eq(r.rc, 1, f"scopelock verify of a log with its last record cut ({r})")

    # untouched copy still verifies (the tests above are not false alarms)
    work = t.tmp / "copy"
    shutil.copytree(d.audit, work)
    eq(verify(str(work)).rc, 0, "scopelock verify of an untouched copy")


def test_rotation_zstd_chain(t):
    d = t.daemon(rotate_size=4096)
    m = rand_marker("rot")
    # enough records to rotate several times
    r = d.run([PY, "-c", "import sys\nfor i in range(60): open('/etc/hostname').read()", m])
    eq(r.rc, 0, f"session ({r})")
    d.finished_session(r)
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    segs = segment_files(d.audit)
    gz = [p for p in segs if p.suffix == ".zst"]
    check(len(gz) >= 2, f"expected >= 2 zstd segments with --rotate-size 4096, got "
          f"{[p.name for p in segs]}")
    plain_closed = [p for p in segs if p.name != "audit.jsonl" and p.suffix != ".zst"]
    eq(plain_closed, [], "closed segments left uncompressed")
    for p in segs:
        eq(oct(os.stat(p).st_mode & 0o777), oct(0o600), f"mode of {p.name}")
    lines = read_raw_lines(d.audit)
    check_chain(lines)  # gapless and chained across segments
    types = [json.loads(x)["type"] for x in lines]
    check("segment_end" in types and "segment_start" in types,
          f"rotation records missing: {sorted(set(types))}")
    r = verify(d.audit)
    eq(r.rc, 0, f"scopelock verify over rotated segments ({r})")
    r = verify(*[str(p) for p in reversed(segs)])
    eq(r.rc, 0, f"scopelock verify with the segments given in reverse order ({r})")

    # flip one byte inside the second compressed segment
    work = t.tmp / "rot-flipped"
    shutil.copytree(d.audit, work)
    target = sorted(work.glob("audit-*.jsonl.zst"))[1]
    ls = decompress_segment(target).split(b"\n")[:-1]
    flip_byte_in_middle(ls)
    target.unlink()
    compress_segment_bytes(target, b"".join(x + b"\n" for x in ls))
    r = verify(str(work))
    eq(r.rc, 1, f"scopelock verify with a byte flipped in {target.name} ({r})")

    # a whole compressed segment missing
    work = t.tmp / "rot-missing"
    shutil.copytree(d.audit, work)
    sorted(work.glob("audit-*.jsonl.zst"))[1].unlink()
    r = verify(str(work))
    eq(r.rc, 1, f"scopelock verify with a segment missing ({r})")

    # segments of an older version are gzip: a log with .gz and .zst segments verifies
    work = t.tmp / "rot-mixed"
    shutil.copytree(d.audit, work)
    old = sorted(work.glob("audit-*.jsonl.zst"))[0]
    gzp = old.with_suffix(".gz")
    compress_segment_bytes(gzp, decompress_segment(old))
    old.unlink()
    r = verify(str(work))
    eq(r.rc, 0, f"scopelock verify over a .gz segment then .zst segments ({r})")
    eq(len(read_raw_lines(work)), len(lines), "records read over .gz and .zst segments")
