# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Checkpoints: the audit chain's head sealed with a forward-secure key.

A real daemon seals its log (start, every second, stop) with a key made by
`scopelock checkpoint-setup`. On copies of that real log, each tampering the
hash chain alone cannot show (the tail cut, a record edited and the chain
recomputed, a record deleted and the rest renumbered and rechained, the
oldest segments removed) passes plain `scopelock verify` (the control: the
attack is invisible without checkpoints) and fails `scopelock verify
--checkpoints` naming it; so do a forged checkpoint, an altered one, one
removed from the file, and the wrong verification key. The untampered log
verifies with its checkpoints."""

import hashlib
import json
import os
import re
import resource
import secrets
import shutil
import subprocess

from harness import (BIN_CLI, REPO, Daemon, check, cli, eq, fail, rand_marker, read_raw_lines,
                     segment_files, wait_until)

HASH_RE = re.compile(rb',"hash":"([0-9a-f]{64})"\}$')


def setup_key(t):
    key = t.tmp / "keys" / "checkpoint.key"
    r = cli("checkpoint-setup", "--key", str(key))
    eq(r.rc, 0, f"checkpoint-setup ({r})")
    m = re.search(r"verification key: ([0-9a-f]{64})", r.stdout)
    check(m, f"checkpoint-setup printed no verification key: {r.stdout!r}")
    eq(oct(os.stat(key).st_mode & 0o777), "0o600", "mode of the key file")
    # a second setup must not replace the key the daemon seals with
    r2 = cli("checkpoint-setup", "--key", str(key))
    eq(r2.rc, 1, f"checkpoint-setup over an existing key ({r2})")
    check("exists" in r2.stderr, f"the refusal says why: {r2.stderr!r}")
    return key, m.group(1)


def sealed_daemon(t, key, rotate_size=None):
    ck = t.tmp / f"ck-{secrets.token_hex(3)}.jsonl"
    d = t.daemon(rotate_size=rotate_size,
                 extra=["--checkpoint-key", str(key), "--checkpoints", str(ck),
                        "--checkpoint-interval", "1"])
    return d, ck


def ck_lines(path):
    try:
        return [json.loads(x) for x in path.read_text().splitlines() if x]
    except FileNotFoundError:
        return []


def busy(d, ck, n_seals):
    """Sessions until n_seals checkpoints of distinct seqs are in the file."""
    def enough():
        m = rand_marker("ck")
        r = d.run(["/bin/sh", "-c", 'cat /etc/hostname >/dev/null; /bin/true "$1"', "sh", m])
        eq(r.rc, 0, f"session ({r})")
        return len({c["seq"] for c in ck_lines(ck)}) >= n_seals
    wait_until(enough, 60, f"{n_seals} checkpoints in {ck}", interval=0.3)


def rechain(lines, start):
    """Recompute every hash (and "prev") from index start on: what someone
    who edits the log and knows the format does."""
    prev = bytes.fromhex(HASH_RE.search(lines[start - 1]).group(1).decode()) if start else \
        b"\0" * 32
    out = list(lines[:start])
    for line in lines[start:]:
        rec = json.loads(line)
        rec.pop("hash")
        if "prev" in rec:
            rec["prev"] = prev.hex()[:16]
        body = json.dumps(rec, separators=(",", ":"), ensure_ascii=False).encode()
        h = hashlib.sha256(prev + body).hexdigest()
        out.append(body[:-1] + b',"hash":"' + h.encode() + b'"}')
        prev = bytes.fromhex(h)
    return out


def write_log(t, name, lines):
    w = t.tmp / name
    w.mkdir()
    (w / "audit.jsonl").write_bytes(b"".join(x + b"\n" for x in lines))
    return str(w)


def verify(*args):
    return cli("verify", *args, timeout=120)


def verify_ck(ck, vk, path):
    return verify("--checkpoints", str(ck), "--verification-key", vk, path)


def expect_found(r, problem, what):
    eq(r.rc, 1, f"verify --checkpoints must fail for {what} ({r})")
    check(f"CHECKPOINTS FAILED: {problem}" in r.stdout,
          f"verify must name {problem} for {what}: {r.stdout!r}")


def test_checkpoints_find_what_the_chain_cannot(t):
    key, vk = setup_key(t)
    d, ck = sealed_daemon(t, key)
    busy(d, ck, 4)
    st = json.loads(d.cli("status", "--json").stdout)
    cks = st.get("checkpoints", {})
    eq(cks.get("enabled"), True, f"status says checkpoints are sealed: {cks}")
    eq(d.stop(), 0, "scopelockd exit status")
    seals = ck_lines(ck)
    eq([c["epoch"] for c in seals], list(range(len(seals))), "epochs 0, 1, 2, ... in the file")
    lines = read_raw_lines(d.audit)
    last = json.loads(lines[-1])
    eq(seals[-1]["seq"], last["seq"], "the last seal (at stop) covers the last record")

    # the key on disk has moved on: the key of any sealed epoch is gone
    eq(key.read_text().split("\n")[1], f"epoch {len(seals)}", "the key file's epoch")

    # control: the real log verifies, with and without its checkpoints
    r = verify_ck(ck, vk, d.audit)
    eq(r.rc, 0, f"verify --checkpoints of the real log ({r})")
    check("CHECKPOINTS OK" in r.stdout, f"{r.stdout!r}")

    # 1. the tail cut: the chain alone verifies
    mid_seal = seals[len(seals) // 2]["seq"]
    cut = [x for x in lines if json.loads(x)["seq"] < mid_seal]
    p = write_log(t, "cut", cut)
    eq(verify(p).rc, 0, "plain verify of a log whose tail was cut (invisible to the chain)")
    expect_found(verify_ck(ck, vk, p), "tail_cut", "a cut tail")

    # 2. a record edited and the chain recomputed from it
    i = next(k for k, x in enumerate(lines) if json.loads(x)["seq"] > seals[0]["seq"]
             and json.loads(x)["seq"] < mid_seal and b'"type":"exec"' in x)
    ed = list(lines)
    ed[i] = ed[i].replace(b"/bin/true", b"/bin/echo")
    check(ed[i] != lines[i], "the edit changed the record")
    p = write_log(t, "edited", rechain(ed, i))
    eq(verify(p).rc, 0, "plain verify of an edited, rechained log")
    expect_found(verify_ck(ck, vk, p), "rewritten", "an edited and rechained record")

    # 3. a record deleted, the rest renumbered and rechained
    de = list(lines)
    del de[i]
    ren = []
    for k, x in enumerate(de):
        if k >= i:
            rec = json.loads(x)
            x = x.replace(b'{"seq":%d,' % rec["seq"], b'{"seq":%d,' % (rec["seq"] - 1), 1)
        ren.append(x)
    p = write_log(t, "deleted", rechain(ren, i))
    eq(verify(p).rc, 0, "plain verify of a log with a record deleted and renumbered")
    expect_found(verify_ck(ck, vk, p), "rewritten", "a deleted record, rechained")

    # 4. a forged checkpoint (the next epoch, without the key)
    forged = dict(seals[-1], epoch=seals[-1]["epoch"] + 1, seq=seals[-1]["seq"] + 5,
                  mac=secrets.token_hex(32))
    fck = t.tmp / "forged.jsonl"
    fck.write_text(ck.read_text() + json.dumps(forged, separators=(",", ":")) + "\n")
    expect_found(verify_ck(fck, vk, d.audit), "forged", "a forged checkpoint")

    # 5. a checkpoint altered to match a rewritten log (seq moved back)
    alt = ck_lines(ck)
    alt[1]["seq"] -= 1
    ack = t.tmp / "altered.jsonl"
    ack.write_text("".join(json.dumps(c, separators=(",", ":")) + "\n" for c in alt))
    expect_found(verify_ck(ack, vk, d.audit), "forged", "an altered checkpoint")

    # 6. a checkpoint removed from the file
    rck = t.tmp / "removed.jsonl"
    rl = ck.read_text().splitlines(keepends=True)
    del rl[1]
    rck.write_text("".join(rl))
    expect_found(verify_ck(rck, vk, d.audit), "epochs_missing", "a checkpoint removed")

    # 7. another verification key: nothing verifies
    expect_found(verify_ck(ck, secrets.token_hex(32), d.audit), "forged", "the wrong key")

    # 8. the checkpoints file emptied (and the log rewritten): zero seals prove nothing
    eck = t.tmp / "emptied.jsonl"
    eck.write_text("")
    p = write_log(t, "edited-empty", rechain(ed, i))
    expect_found(verify_ck(eck, vk, p), "epochs_missing", "an emptied checkpoints file")

    # 9. a "checkpoints file" without newlines (/dev/zero) is refused after one line's
    # worth of bytes, in bounded memory (1 GiB of address space here)
    p = subprocess.run([str(BIN_CLI), "verify", "--checkpoints", "/dev/zero",
                        "--verification-key", vk, d.audit], capture_output=True, text=True,
                       timeout=60, preexec_fn=lambda: resource.setrlimit(
                           resource.RLIMIT_AS, (1 << 30, 1 << 30)))
    eq(p.returncode, 1, f"verify --checkpoints /dev/zero ({p.stdout!r} {p.stderr!r})")
    check("CHECKPOINTS FAILED: malformed" in p.stdout and "longer than" in p.stdout,
          f"/dev/zero is not a checkpoints file: {p.stdout!r}")

    # 10. the last lines removed from the file (the documented limit): the chain and the
    # remaining seals verify, and verify says which records no seal covers
    tck = t.tmp / "tail-removed.jsonl"
    tck.write_text("".join(ck.read_text().splitlines(keepends=True)[:-1]))
    r = verify_ck(tck, vk, d.audit)
    eq(r.rc, 0, f"verify with the last seal removed ({r})")
    check(f"records seq {seals[-2]['seq'] + 1}..{last['seq']} come after the newest "
          "checkpoint" in r.stdout, f"verify names the records no seal covers: {r.stdout!r}")

    # 11. an epoch twice (a line copied, or a key file restored from a backup)
    dck = t.tmp / "twice.jsonl"
    rl = ck.read_text().splitlines(keepends=True)
    dck.write_text("".join(rl[:2] + rl[1:]))
    r = verify_ck(dck, vk, d.audit)
    expect_found(r, "order", "an epoch twice")
    check("a second time" in r.stdout, f"verify says the epoch comes twice: {r.stdout!r}")

    # usage errors are precise
    r = verify("--checkpoints", str(ck), d.audit)
    eq(r.rc, 2, f"--checkpoints without a key ({r})")
    check("verification-key" in r.stderr, f"{r.stderr!r}")
    r = verify("--checkpoints", str(ck), "--verification-key", "xyz", d.audit)
    eq(r.rc, 2, f"a malformed key ({r})")


def test_checkpoints_find_removed_oldest_segments(t):
    key, vk = setup_key(t)
    d, ck = sealed_daemon(t, key, rotate_size=4096)
    busy(d, ck, 3)
    wait_until(lambda: len(segment_files(d.audit)) >= 4, 60, "four segments", interval=0.2)
    eq(d.stop(), 0, "scopelockd exit status")
    work = t.tmp / "segs"
    shutil.copytree(d.audit, work)
    r = verify_ck(ck, vk, str(work))
    eq(r.rc, 0, f"control: all segments verify with the checkpoints ({r})")
    oldest = segment_files(str(work))[0]
    os.unlink(oldest)
    r = verify(str(work))
    eq(r.rc, 0, f"plain verify without the oldest segment (anchored, only a note) ({r})")
    expect_found(verify_ck(ck, vk, str(work)), "oldest_missing", "the oldest segment removed")


def refused(t, extra, want, what):
    """scopelockd with these options exits at start-up, saying why."""
    d = Daemon(t, extra=extra)
    try:
        p = subprocess.run(d.argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        fail(f"scopelockd kept running with {what}")
    out = (p.stdout + p.stderr).decode(errors="replace")
    check(p.returncode != 0, f"scopelockd exited 0 with {what}")
    check(want in out, f"the daemon says why ({want!r}) for {what}: {out[-400:]!r}")


def test_checkpoint_key_refused(t):
    """A key the daemon was told to use must be there and private: it does
    not start otherwise (the control: the same daemon with a good key starts,
    in the tests above)."""
    refused(t, ["--checkpoint-key", str(t.tmp / "missing.key")], "No such file",
            "a missing key file")
    bad = t.tmp / "bad.key"
    bad.write_text("not a key\n")
    os.chmod(bad, 0o600)
    refused(t, ["--checkpoint-key", str(bad)], "not a scopelock checkpoint key",
            "a malformed key file")
    key, _ = setup_key(t)
    os.chmod(key, 0o644)
    refused(t, ["--checkpoint-key", str(key)], "readable by its owner only",
            "a key file others can read")
    os.chmod(key, 0o600)
    os.chmod(key.parent, 0o777)
    refused(t, ["--checkpoint-key", str(key)], "may be changed by others",
            "a key file in a directory others may write (they could swap the key, or hold "
            "its lock)")
    os.chmod(key.parent, 0o755)
    os.chown(key, 65534, 65534)
    refused(t, ["--checkpoint-key", str(key)], "owned by uid 65534",
            "a key file another user made (and knows)")


def evolve(k):
    return hashlib.sha256(b"scopelock-checkpoint-evolve" + k).digest()


def test_checkpoint_old_keys_not_on_disk(t):
    """Root can read the block device: a key of a sealed epoch (k[0] above
    all, the verification key) must not stay in the file system's free blocks
    once the daemon evolved it. The key file lives on an ext4 image of its
    own; after the daemon sealed and stopped, the raw image holds the current
    key (the control: the scan finds a key that is there) and none of the
    keys of sealed epochs."""
    img = t.tmp / "keyfs.img"
    mnt = t.tmp / "keyfs"
    mnt.mkdir()
    with open(img, "wb") as f:
        f.truncate(16 << 20)
    r = t.outside(["mkfs.ext4", "-q", "-F", "-E", "nodiscard", str(img)])
    eq(r.rc, 0, f"mkfs.ext4 ({r})")
    r = t.outside(["mount", "-o", "loop", str(img), str(mnt)])
    eq(r.rc, 0, f"mount the key file system ({r})")
    mounted = [True]

    def umount():
        if mounted[0]:
            subprocess.run(["umount", str(mnt)], check=False)
            mounted[0] = False
    t.on_cleanup(umount)
    key = mnt / "checkpoint.key"
    r = cli("checkpoint-setup", "--key", str(key))
    eq(r.rc, 0, f"checkpoint-setup ({r})")
    vk = re.search(r"verification key: ([0-9a-f]{64})", r.stdout).group(1)
    d, ck = sealed_daemon(t, key)
    busy(d, ck, 3)
    eq(d.stop(), 0, "scopelockd exit status")
    epochs = len(ck_lines(ck))
    check(epochs >= 3, f"at least three seals: {epochs}")
    umount()
    raw = img.read_bytes()
    keys = [bytes.fromhex(vk)]
    for _ in range(epochs):
        keys.append(evolve(keys[-1]))
    check(keys[-1].hex().encode() in raw,
          "control: the current key (epoch %d) is in the image" % epochs)
    left = [e for e in range(epochs) if keys[e].hex().encode() in raw]
    eq(left, [], "epochs whose key is still in the key file system's blocks (k[0] is the "
       "verification key)")


def test_checkpoint_key_one_daemon_at_a_time(t):
    """Two daemons (two state directories) given one key file would each seal
    with the same epoch's key: a key used for two checkpoints. The second is
    refused while the first seals (the control: the first started with that
    key and seals); once the first stopped, the key serves the next daemon,
    whose epochs go on from the first's."""
    key, vk = setup_key(t)
    d, ck = sealed_daemon(t, key)
    busy(d, ck, 2)
    refused(t, ["--checkpoint-key", str(key), "--checkpoints", str(t.tmp / "other.jsonl")],
            "in use by another scopelockd", "a key file another daemon seals with")
    eq(d.stop(), 0, "scopelockd exit status")
    seals = ck_lines(ck)
    d2, ck2 = sealed_daemon(t, key)
    eq(d2.stop(), 0, "the second scopelockd exit status")
    seals2 = ck_lines(ck2)
    check(seals2, "the second daemon sealed")
    eq(seals2[0]["epoch"], seals[-1]["epoch"] + 1, "the next daemon's first epoch")


def small_fs(t, name, size_mb):
    """An ext4 file system of its own (unmounted at cleanup); returns its mount point."""
    img = t.tmp / f"{name}.img"
    mnt = t.tmp / name
    mnt.mkdir()
    with open(img, "wb") as f:
        f.truncate(size_mb << 20)
    r = t.outside(["mkfs.ext4", "-q", "-F", "-b", "1024", str(img)])
    eq(r.rc, 0, f"mkfs.ext4 ({r})")
    r = t.outside(["mount", "-o", "loop", str(img), str(mnt)])
    eq(r.rc, 0, f"mount ({r})")
    t.on_cleanup(lambda: subprocess.run(["umount", str(mnt)], check=False))
    return mnt


def fill(path):
    """Write to path until the file system is full (as root: reserved blocks too)."""
    with open(path, "wb", buffering=0) as f:
        for chunk in (1 << 16, 1024, 1):
            try:
                while True:
                    f.write(b"x" * chunk)
            except OSError as e:
                check(e.errno == 28, f"filling {path}: {e!r}")


def test_checkpoints_file_full_disk(t):
    """The checkpoints file's disk fills: seals that cannot be written are in
    syslog only, and the file keeps whole lines (a seal cut short would merge
    with the next one into a line that is not a checkpoint, and every later
    seal in the file would go unchecked). After space is freed, the file
    verifies up to the seals that went missing (epochs_missing), with the
    seals after them checked against the log; the control: before the disk
    filled, the file verified."""
    key, vk = setup_key(t)
    mnt = small_fs(t, "ckfs", 4)
    ck = mnt / "checkpoints.jsonl"
    d = t.daemon(extra=["--checkpoint-key", str(key), "--checkpoints", str(ck),
                        "--checkpoint-interval", "1"])
    busy(d, ck, 2)
    r = verify_ck(ck, vk, d.audit)
    eq(r.rc, 0, f"control: the checkpoints verify before the disk fills ({r})")
    errors = lambda: json.loads(d.cli("status", "--json").stdout)["checkpoints"]["errors"]

    def session():
        eq(d.run(["/bin/true", rand_marker("ck")]).rc, 0, "session")
        return True

    # the disk fills when the next seal's line would cross a page (4 KiB) whose
    # block is allocated: ext4 then writes its first part and fails the rest
    def at_edge():
        data = ck.read_bytes()
        longest = max(len(x) + 1 for x in data.splitlines())
        return 4096 - longest + 8 < len(data) % 4096 < 4096 - 8
    wait_until(lambda: session() and at_edge(), 120, "the file's end near a page's end",
               interval=0.3)
    fill(mnt / "fill")
    before = errors()
    wait_until(lambda: session() and errors() >= before + 2, 60,
               "two seals that could not be written", interval=0.3)
    os.unlink(mnt / "fill")
    n = len(ck.read_bytes().splitlines())
    wait_until(lambda: session() and len(ck.read_bytes().splitlines()) >= n + 2, 60,
               "two more seals in the file", interval=0.3)
    eq(d.stop(), 0, "scopelockd exit status")
    raw = ck.read_bytes()
    check(raw.endswith(b"\n"), "the file ends with a whole line")
    for i, line in enumerate(raw.splitlines()):
        try:
            json.loads(line)
        except ValueError:
            fail(f"line {i + 1} of the checkpoints file is not a checkpoint: {line[:300]!r}")
    expect_found(verify_ck(ck, vk, d.audit), "epochs_missing", "seals lost to a full disk")


def test_checkpoints_reach_the_outputs(t):
    """Every seal also goes to the policy's outputs (here a program that
    appends to a file standing for a collector off the host): the copy the
    collector got verifies the log like the local checkpoints file: what
    root on the host does to the local file does not reach it."""
    key, vk = setup_key(t)
    got = t.tmp / "collector.jsonl"
    policy = t.write("collector.yaml", f"extends: {REPO / 'policies' / 'default.yaml'}\n"
                     f"outputs:\n  program:\n    command: \"cat >> {got}\"\n")
    ck = t.tmp / "ck-local.jsonl"
    d = t.daemon(policy=str(policy),
                 extra=["--checkpoint-key", str(key), "--checkpoints", str(ck),
                        "--checkpoint-interval", "1"])
    busy(d, ck, 3)
    wait_until(lambda: len({c["seq"] for c in ck_lines(got) if c.get("type") == "checkpoint"})
               >= 3, 30, "three seals at the collector")
    eq(d.stop(), 0, "scopelockd exit status")
    remote = [c for c in ck_lines(got) if c.get("type") == "checkpoint"]
    local = ck_lines(ck)
    check({c["epoch"] for c in remote} <= {c["epoch"] for c in local},
          "the collector got seals the local file does not have")
    mine = t.tmp / "collector-checkpoints.jsonl"
    mine.write_text("".join(json.dumps(c) + "\n" for c in remote))
    r = verify_ck(mine, vk, d.audit)
    eq(r.rc, 0, f"verify --checkpoints with the collector's copy ({r})")
