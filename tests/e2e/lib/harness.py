# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""scopelock e2e harness: a real daemon per test, real sessions, the audit log.

Python 3 standard library only; run with /usr/bin/python3 (Debian's).

Every test gets a Ctx (t): a private temp dir, and helpers to start daemons
(t.daemon()), servers and outside processes. Everything a test starts is
registered with t and torn down by pid in reverse order, on success and on
failure.
"""

import base64
import errno as errno_mod
import gzip
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

E2E = Path(__file__).resolve().parents[1]
REPO = E2E.parents[1]
ADVERSARIAL = REPO / "tests" / "adversarial"
OUTCOMES = ("BLOCKED", "DETECTED")
# SL_E2E_BIN_DIR: test binaries built elsewhere (default: the repo's bin/)
BIN_DIR = Path(os.environ.get("SL_E2E_BIN_DIR") or REPO / "bin").resolve()
BIN_DAEMON = BIN_DIR / "scopelockd"
BIN_CLI = BIN_DIR / "scopelock"
PY = "/usr/bin/python3"
SERVERS = E2E / "servers"

# which Debian package provides each client binary the tests use
PACKAGES = {
    "/usr/bin/curl": "curl",
    "/usr/bin/git": "git",
    "/usr/bin/node": "nodejs",
    "/usr/bin/openssl": "openssl",
    "/usr/bin/python3": "python3",
}


class TestFailure(AssertionError):
    pass


class Skip(Exception):
    """Only for cases that do not apply; the runner prints the reason."""


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def eq(actual, expected, what):
    if actual != expected:
        fail(f"{what}: expected {expected!r}, got {actual!r}")


def need_binary(path):
    if not os.access(path, os.X_OK):
        pkg = PACKAGES.get(path, "?")
        fail(f"{path} is missing: install the Debian package '{pkg}' (apt-get install -y {pkg})")


def rand_marker(prefix="m"):
    return f"{prefix}-{secrets.token_hex(6)}"


# scopelock run's exit status when scopelock killed the session (a kill
# verdict, a denied or expired hold, scopelock end); 128+N for other signals
KILLED = 123


def proc_state(pid):
    """The state letter of /proc/PID/stat ("T": stopped), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def session_pids(d, sid, comm=None):
    """pids in session sid's cgroup (its own, not sub-cgroups); comm: only those named so."""
    cg = d.session_start(sid).get("cgroup")
    try:
        with open(os.path.join(cg, "cgroup.procs")) as f:
            pids = [int(x) for x in f.read().split()]
    except (OSError, TypeError):
        return []
    if comm is None:
        return pids
    out = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == comm:
                    out.append(pid)
        except OSError:
            pass
    return out


def wait_until(fn, timeout, what, interval=0.05):
    """Call fn() until it returns a truthy value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------- bytes values

def B(v):
    """Decode a bytes value of the audit log: a JSON string (valid UTF-8) or
    {"b64": "..."}. Fails on anything else."""
    if isinstance(v, str):
        return v.encode("utf-8")
    if isinstance(v, dict) and list(v.keys()) == ["b64"] and isinstance(v["b64"], str):
        return base64.b64decode(v["b64"], validate=True)
    fail(f"not a bytes value: {v!r}")


def Bopt(v):
    """B() for an optional field: None (or absent) is b"" ."""
    return b"" if v is None else B(v)


def is_bytes_value(v):
    return isinstance(v, str) or (isinstance(v, dict) and list(v.keys()) == ["b64"])


def all_bytes(obj):
    """Every string in a record, decoded (b64 objects to their bytes)."""
    if isinstance(obj, str):
        yield obj.encode("utf-8")
    elif isinstance(obj, dict):
        if list(obj.keys()) == ["b64"] and isinstance(obj["b64"], str):
            try:
                yield base64.b64decode(obj["b64"], validate=True)
            except ValueError:
                yield obj["b64"].encode()
        else:
            for k, v in obj.items():
                yield k.encode("utf-8")
                yield from all_bytes(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from all_bytes(v)


def record_mentions(rec, needle):
    if isinstance(needle, str):
        needle = needle.encode()
    return any(needle in b for b in all_bytes(rec))


def short(rec, limit=600):
    s = json.dumps(rec, ensure_ascii=False)
    return s if len(s) <= limit else s[:limit] + "...(cut)"


# ---------------------------------------------------------------- audit log

class BadZstdFile(Exception):
    pass


def decompress_segment(p):
    """The text of a segment file: plain, .gz (older versions) or .zst (rotation
    compresses with zstd; read with the zstd tool, which checks the frame's
    checksum)."""
    p = Path(p)
    if p.suffix == ".gz":
        return gzip.decompress(p.read_bytes())
    if p.suffix == ".zst":
        if not p.exists():
            raise FileNotFoundError(str(p))
        r = subprocess.run(["zstd", "-dcq", str(p)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise BadZstdFile(f"{p}: {r.stderr.decode(errors='replace').strip()}")
        return r.stdout
    return p.read_bytes()


def compress_segment_bytes(p, data):
    """Write data to segment file p compressed as its name says (.gz or .zst)."""
    p = Path(p)
    if p.suffix == ".gz":
        p.write_bytes(gzip.compress(data))
    elif p.suffix == ".zst":
        subprocess.run(["zstd", "-1", "-qf", "-o", str(p)], input=data, check=True)
    else:
        p.write_bytes(data)


def segment_files(audit_dir):
    """Closed segments (audit-<seq>.jsonl[.zst|.gz], in seq order) then
    audit.jsonl. A segment being compressed exists as .jsonl and .jsonl.zst
    for a moment: it is listed once (the compressed file)."""
    d = Path(audit_dir)
    closed = sorted(p for p in d.glob("audit-*.jsonl*") if re.fullmatch(
        r"audit-\d{20}\.jsonl(\.gz|\.zst)?", p.name))
    names = {p.name for p in closed}
    closed = [p for p in closed if not (p.suffix == ".jsonl" and (
        p.name + ".gz" in names or p.name + ".zst" in names))]
    cur = d / "audit.jsonl"
    return closed + ([cur] if cur.exists() else [])


def _read_raw_lines_once(audit_dir, complete_only):
    out = []
    for p in segment_files(audit_dir):
        data = decompress_segment(p)
        lines = data.split(b"\n")
        tail = lines.pop()  # '' when the file ends with a newline
        if tail and not complete_only:
            lines.append(tail)
        out.extend(lines)
    return out


def read_raw_lines(audit_dir, complete_only=True):
    """All lines (bytes, without '\\n') of every segment, in order. The daemon
    may rotate while we read (a listed file renamed or compressed away): read
    again, a bounded number of times."""
    for attempt in range(20):
        try:
            return _read_raw_lines_once(audit_dir, complete_only)
        except (FileNotFoundError, EOFError, gzip.BadGzipFile, BadZstdFile):
            if attempt == 19:
                raise
            time.sleep(0.05)


def read_records(audit_dir):
    recs = []
    for i, line in enumerate(read_raw_lines(audit_dir)):
        try:
            recs.append(json.loads(line))
        except ValueError as e:
            fail(f"audit log line {i + 1} is not JSON ({e}): {line[:300]!r}")
    return recs


HASH_RE = re.compile(rb',"hash":"([0-9a-f]{64})"\}$')


def check_chain(lines):
    """Independent check of the hash chain (user/lib/audit.h): hash =
    hex(SHA-256(prev_raw || body)), body = line with its final
    ,"hash":"<hex>" cut out, prev of the first record = 32 zero bytes;
    seq gapless from 1. Returns the number of records."""
    prev = b"\0" * 32
    expect_seq = 1
    for i, line in enumerate(lines):
        m = HASH_RE.search(line)
        check(m, f"record {i + 1} does not end with a \"hash\" member: {line[-120:]!r}")
        body = line[:m.start()] + b"}"
        want = hashlib.sha256(prev + body).hexdigest().encode()
        check(m.group(1) == want,
              f"record {i + 1}: hash {m.group(1).decode()} != sha256(prev||body) {want.decode()}")
        rec = json.loads(line)
        eq(rec.get("seq"), expect_seq, f"seq of record {i + 1}")
        check(line.startswith(b'{"seq":'), f"record {i + 1}: \"seq\" is not the first member")
        expect_seq += 1
        prev = bytes.fromhex(m.group(1).decode())
    return len(lines)


# ---------------------------------------------------------------- cgroups

def cgroup2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            if parts[sep + 1] == "cgroup2":
                return parts[4]
    return None


def cgroup_of_pid(pid):
    """The cgroup v2 path ("0::" line) of a process, or None."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            for line in f:
                if line.startswith("0::"):
                    return line[3:].rstrip("\n")
    except OSError:
        pass
    return None


def cgroup_abs(path):
    """Absolute directory of a cgroup given as the daemon reports it: either
    already absolute under the v2 mount, or relative to it."""
    mnt = cgroup2_mount()
    if mnt and path.startswith(mnt + "/"):
        return path
    return os.path.join(mnt or "/sys/fs/cgroup/unified", path.lstrip("/"))


def cgroup_rel(path):
    mnt = cgroup2_mount()
    if mnt and path.startswith(mnt + "/"):
        return path[len(mnt):]
    return "/" + path.lstrip("/")


def kill_cgroup_tree(top):
    """SIGKILL every process in the cgroups under top (cgroups the test's own
    daemon created under its unique parent), then rmdir them bottom-up.
    Returns the list of cgroups that had to be removed here."""
    removed = []
    if not os.path.isdir(top):
        return removed
    for _ in range(50):
        alive = False
        for root, dirs, files in os.walk(top):
            try:
                pids = open(os.path.join(root, "cgroup.procs")).read().split()
            except OSError:
                pids = []
            for p in pids:
                alive = True
                try:
                    os.kill(int(p), signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if not alive:
            break
        time.sleep(0.1)
    for root, dirs, files in os.walk(top, topdown=False):
        try:
            os.rmdir(root)
            removed.append(root)
        except OSError:
            pass
    return removed


# ---------------------------------------------------------------- processes

def kill_pid(proc, timeout=5):
    """SIGTERM a Popen we started, by pid; SIGKILL after timeout. Returns rc."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)
    return proc.returncode


class Result:
    def __init__(self, rc, stdout, stderr, name=None, argv=None):
        self.rc, self.stdout, self.stderr, self.name, self.argv = rc, stdout, stderr, name, argv

    def __repr__(self):
        return (f"rc={self.rc} stdout={self.stdout[-800:]!r} stderr={self.stderr[-800:]!r}")


def cli(*args, timeout=30, env=None, cwd=None, input=None):
    """Run bin/scopelock with args (str or bytes)."""
    argv = [str(BIN_CLI)] + [a if isinstance(a, bytes) else str(a) for a in args]
    p = subprocess.run(argv, capture_output=True, timeout=timeout, env=env, cwd=cwd,
                       input=input, stdin=None if input is not None else subprocess.DEVNULL)
    return Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                  p.stderr.decode("utf-8", "replace"), argv=argv)


# ---------------------------------------------------------------- daemon

class Daemon:
    def __init__(self, t, ringbuf_size=None, tls_capture_bytes=None, fsync=None,
                 rotate_size=None, extra=(), sock=None, state=None, audit=None, policy=None,
                 cg_parent=None):
        self.t = t
        self.base = Path(tempfile.mkdtemp(prefix="d-", dir=t.tmp))
        self.sock = sock or str(self.base / "ctl.sock")
        self.audit = audit or str(self.base / "audit")
        self.state = state or str(self.base / "state")
        self.logfile = str(self.base / "daemon.log")
        # a restarted daemon (the same instance) passes the first one's
        self.cg_parent = cg_parent or "scopelock-test-" + secrets.token_hex(5)
        self.argv = [str(BIN_DAEMON)]
        # policy: this test's own policy file; else SL_E2E_POLICY, else the
        # shipped default policy
        policy = str(policy or os.environ.get("SL_E2E_POLICY")
                     or REPO / "policies" / "default.yaml")
        if not os.path.exists(policy):
            fail(f"policy file {policy} is missing (set SL_E2E_POLICY to use another one)")
        self.argv += ["--policy", policy]
        self.argv += ["--audit-dir", self.audit, "--socket", self.sock, "--state-dir",
                      self.state, "--cgroup-parent", self.cg_parent, "-v"]
        if ringbuf_size is not None:
            self.argv += ["--ringbuf-size", str(ringbuf_size)]
        if tls_capture_bytes is not None:
            self.argv += ["--tls-capture-bytes", str(tls_capture_bytes)]
        if fsync is not None:
            self.argv += ["--fsync", fsync]
        if rotate_size is not None:
            self.argv += ["--rotate-size", str(rotate_size)]
        self.argv += list(extra)
        # never the host's checkpoint key: a test seals with its own or not at all
        if "--checkpoint-key" not in self.argv:
            self.argv.append("--no-checkpoints")
        self.proc = None
        self.exit_code = None
        self.detached = False
        self.leftover_cgroups = []

    # -- life cycle
    def start(self, timeout=30):
        need_binary(str(BIN_DAEMON))
        need_binary(str(BIN_CLI))
        self._log = open(self.logfile, "wb")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        self.t.on_cleanup(self.stop)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                fail(f"scopelockd exited with {self.proc.returncode} during start-up "
                     "(its log follows)")
            r = cli("--socket", self.sock, "status", timeout=10)
            if r.rc == 0:
                return self
            if time.monotonic() > deadline:
                fail(f"scopelockd not ready after {timeout}s (last status: {r})")
            time.sleep(0.1)

    def stop(self, timeout=15):
        """Stop the daemon the detaching way (`scopelock shutdown`: a SIGTERM
        keeps the enforcement in the kernel, docs/operations.md), SIGTERM and
        SIGKILL by pid as fallbacks; then detach whatever its instance left
        pinned (`scopelockd --stop-enforcement`, also after a test killed it)
        and remove what the daemon left in its cgroup parent. Idempotent.
        Returns the daemon's exit code."""
        if self.proc is None:
            return None
        if self.exit_code is None:
            # sessions still running (a failed test): kill them first, they are ours
            top = cgroup_abs(self.cg_parent)
            if self.proc.poll() is None and os.path.isdir(top):
                for root, dirs, files in os.walk(top):
                    if root == top:
                        continue
                    try:
                        for p in open(os.path.join(root, "cgroup.procs")).read().split():
                            os.kill(int(p), signal.SIGKILL)
                    except (OSError, ProcessLookupError):
                        pass
            if self.proc.poll() is None:
                try:
                    cli("--socket", self.sock, "shutdown", timeout=timeout + 60)
                except (OSError, subprocess.TimeoutExpired):
                    pass  # SIGTERM / SIGKILL below, then --stop-enforcement
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            self.exit_code = kill_pid(self.proc, timeout)
            self._log.close()
            self.leftover_cgroups = kill_cgroup_tree(cgroup_abs(self.cg_parent))
        if not self.detached and self.proc.poll() is not None:
            # also when a test stopped it itself (SIGTERM, SIGKILL)
            self.detached = True
            r = self.detach()
            if r.rc != 0:
                raise AssertionError(f"scopelockd --stop-enforcement: {r}")
        return self.exit_code

    def successor(self):
        """Start a new daemon of the same instance (the same options: audit and
        state dirs, socket, cgroup parent), e.g. after this one was killed."""
        d = Daemon(self.t, sock=self.sock, state=self.state, audit=self.audit,
                   policy=self.argv[self.argv.index("--policy") + 1], cg_parent=self.cg_parent)
        d.argv = list(self.argv)
        self.t.daemons.append(d)
        return d.start()

    def detach(self):
        """`scopelockd --stop-enforcement` for this daemon's instance (no daemon
        of it may run): its pins are removed. Returns the Result."""
        argv = [str(BIN_DAEMON), "--stop-enforcement", "--state-dir", self.state]
        if "--instance" in self.argv:
            argv += ["--instance", self.argv[self.argv.index("--instance") + 1]]
        p = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        return Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), argv=argv)

    def pin_dir(self):
        """The bpffs directory of this daemon's instance (its daemon_start)."""
        for rec in read_records(self.audit):
            if rec.get("type") == "daemon_start" and rec.get("pin_dir"):
                return rec["pin_dir"]
        return None

    def log_tail(self, n=40):
        try:
            lines = Path(self.logfile).read_text(errors="replace").splitlines()
        except OSError:
            return "(no daemon log)"
        return "---- daemon log (last %d lines) ----\n%s\n----" % (n, "\n".join(lines[-n:]))

    # -- CLI
    def cli(self, *args, **kw):
        return cli("--socket", self.sock, *args, **kw)

    def status(self):
        r = self.cli("status", "--json")
        check(r.rc == 0, f"scopelock status --json failed: {r}")
        try:
            return json.loads(r.stdout)
        except ValueError as e:
            fail(f"status --json is not JSON ({e}): {r.stdout[:500]!r}")

    @staticmethod
    def _user_args(user, allow_root):
        """--user, and --allow-root for a session as root: the test runs as
        root, so a session without --user runs as root, which `scopelock run`
        refuses unless asked explicitly. allow_root=None: only then."""
        args = ["--user", user] if user else []
        if allow_root if allow_root is not None else user in (None, "root"):
            args.append("--allow-root")
        return args

    def run(self, argv, name=None, scope="staging", workspace=None, user=None, env=None,
            cwd=None, timeout=120, input=None, allow_root=None):
        """scopelock run; returns Result with .name (the session name)."""
        name = name or rand_marker("s")
        args = ["run", "--scope", scope, "--name", name]
        if workspace:
            args += ["--workspace", workspace]
        args += self._user_args(user, allow_root)
        args.append("--")
        args += list(argv)
        r = cli("--socket", self.sock, *args, timeout=timeout, env=env,
                cwd=cwd or str(self.t.tmp), input=input)
        r.name = name
        return r

    def spawn(self, argv, name=None, scope="staging", env=None, cwd=None, user=None,
              allow_root=None, workspace=None, **popen_kw):
        """scopelock run in the background (Popen, registered for cleanup)."""
        name = name or rand_marker("s")
        full = ([str(BIN_CLI), "--socket", self.sock, "run", "--scope", scope, "--name", name]
                + (["--workspace", str(workspace)] if workspace else [])
                + self._user_args(user, allow_root) + ["--"] + list(argv))
        popen_kw.setdefault("stdin", subprocess.DEVNULL)
        p = self.t.popen(full, env=env, cwd=cwd or str(self.t.tmp), **popen_kw)
        p.name = name
        return p

    # -- audit log
    def records(self, session=None, type=None):
        recs = read_records(self.audit)
        if session is not None:
            recs = [r for r in recs if r.get("session") == session]
        if type is not None:
            recs = [r for r in recs if r.get("type") == type]
        return recs

    def raw_lines(self):
        return read_raw_lines(self.audit)

    def session_id(self, name, timeout=10):
        def find():
            for r in self.records(type="session_start"):
                if r.get("name") == name:
                    return r
            return None
        rec = wait_until(find, timeout, f"session_start record with name {name!r}")
        check(isinstance(rec.get("session"), str) and rec["session"],
              f"session_start has no string \"session\": {short(rec)}")
        return rec["session"]

    def session_start(self, sid):
        recs = [r for r in self.records(session=sid, type="session_start")]
        eq(len(recs), 1, f"number of session_start records for session {sid}")
        return recs[0]

    def wait_session_end(self, sid, timeout=15):
        return wait_until(lambda: next(iter(self.records(session=sid, type="session_end")), None),
                          timeout, f"session_end of session {sid}")

    def finished_session(self, result, timeout=15):
        """After run() returned: the session id, waiting for its session_end."""
        sid = self.session_id(result.name, timeout)
        self.wait_session_end(sid, timeout)
        return sid

    def wait_record(self, pred, timeout=10, what="record", session=None):
        def find():
            for r in self.records(session=session):
                if pred(r):
                    return r
            return None
        return wait_until(find, timeout, what)

    def dump(self, session=None, types=None, limit=60):
        recs = self.records(session=session)
        if types:
            recs = [r for r in recs if r.get("type") in types]
        lines = [short(r, 400) for r in recs[-limit:]]
        return "---- audit records%s (%d) ----\n%s\n----" % (
            f" of session {session}" if session else "", len(recs), "\n".join(lines))


# ---------------------------------------------------------------- servers

class TCPListener:
    """Loopback TCP listener in a thread: accepts, records what each
    connection sent."""

    def __init__(self, t, family=socket.AF_INET):
        self.family = family
        host = "127.0.0.1" if family == socket.AF_INET else "::1"
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.received = []
        self.peers = []
        self._stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        t.on_cleanup(self.close)

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                c, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(5)
            data = b""
            try:
                while True:
                    chunk = c.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            c.close()
            self.peers.append(peer)
            self.received.append(data)

    def close(self):
        self._stop = True
        self.sock.close()
        self.thread.join(2)


class UDPListener:
    def __init__(self, t, family=socket.AF_INET):
        host = "127.0.0.1" if family == socket.AF_INET else "::1"
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.received = []
        self._stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        t.on_cleanup(self.close)

    def _loop(self):
        self.sock.settimeout(0.2)
        while not self._stop:
            try:
                data, peer = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.received.append((data, peer))

    def close(self):
        self._stop = True
        self.sock.close()
        self.thread.join(2)


def make_cert(t):
    """Self-signed cert for localhost/127.0.0.1/::1 in the test's temp dir."""
    need_binary("/usr/bin/openssl")
    cert, key = t.tmp / "cert.pem", t.tmp / "key.pem"
    if not cert.exists():
        p = subprocess.run(
            ["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"],
            capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        check(p.returncode == 0, f"openssl req failed: {p.stderr.decode(errors='replace')}")
    return cert, key


class TLSServer:
    """tests/e2e/servers/tls_server.py in its own process, on 127.0.0.1 and
    ::1 (same ephemeral port); every request it receives is logged as JSON
    lines in .log."""

    def __init__(self, t):
        self.cert, self.key = make_cert(t)
        d = Path(tempfile.mkdtemp(prefix="tls-", dir=t.tmp))
        self.log = d / "requests.jsonl"
        portfile = d / "port"
        self.proc = t.popen([PY, str(SERVERS / "tls_server.py"), "--cert", str(self.cert),
                             "--key", str(self.key), "--log", str(self.log), "--port-file",
                             str(portfile)], stdout=subprocess.DEVNULL,
                            stderr=open(d / "stderr", "wb"))
        self.stderr = d / "stderr"

        def ready():
            if self.proc.poll() is not None:
                fail(f"TLS server exited {self.proc.returncode}: "
                     + self.stderr.read_text(errors="replace"))
            try:
                return int(portfile.read_text().strip() or 0)
            except (OSError, ValueError):
                return 0
        self.port = wait_until(ready, 15, "the TLS server's port")

    def requests(self):
        out = []
        try:
            for line in self.log.read_text().splitlines():
                r = json.loads(line)
                r["body"] = base64.b64decode(r["body_b64"])
                out.append(r)
        except FileNotFoundError:
            pass
        return out

    def wait_request(self, pred, what, timeout=10):
        return wait_until(lambda: next((r for r in self.requests() if pred(r)), None),
                          timeout, f"the TLS server to receive {what}")


# ---------------------------------------------------------------- test context

class Ctx:
    def __init__(self, name, keep=False):
        self.name = name
        self.tmp = Path(os.path.realpath(tempfile.mkdtemp(prefix=f"sl-e2e-{name}-")))
        os.chmod(self.tmp, 0o755)
        self._cleanups = []
        self.keep = keep
        self.daemons = []
        self.outcome = None  # adversarial cases: "BLOCKED" / "DETECTED"
        self.outcome_why = ""

    def on_cleanup(self, fn):
        self._cleanups.append(fn)

    def popen(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(argv, **kw)
        self.on_cleanup(lambda: kill_pid(p))
        return p

    def daemon(self, **kw):
        d = Daemon(self, **kw)
        self.daemons.append(d)
        return d.start()

    def outside(self, argv, timeout=60, **kw):
        """Run a process outside any session (plain child of the test)."""
        p = subprocess.run(argv, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL, **kw)
        return Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), argv=argv)

    def write(self, rel, data, mode=0o644):
        p = self.tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            data = data.encode()
        p.write_bytes(data)
        os.chmod(p, mode)
        return p

    def cleanup(self):
        """Run every registered cleanup (reverse order); returns problems."""
        errs = []
        for fn in reversed(self._cleanups):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - report every cleanup problem
                errs.append(f"cleanup {fn}: {e!r}")
        self._cleanups.clear()
        return errs

    def remove_tmp(self):
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def blocked(t, why):
    """An adversarial case: the action was stopped before it took effect
    (asserted by the caller on the outcome: the request never arrived, the
    program never ran, the syscall failed)."""
    t.outcome, t.outcome_why = "BLOCKED", why


def detected(t, why):
    """An adversarial case: the action was not stopped but recorded with an
    alert naming the reason (asserted by the caller)."""
    if t.outcome != "BLOCKED":
        t.outcome, t.outcome_why = "DETECTED", why


def errno_value(name):
    return getattr(errno_mod, name)
