# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Alert outputs (docs/policy.md, "Outputs"): the alerts of real killed
sessions reach a webhook, a program's stdin, a private rsyslogd and a
journald socket, each line exactly as in the audit log (redacted, with its
seq and hash), and enforcement never waits for an output: the sessions are
killed while the webhook is down, while it is slow and while the program
does not read.

The sessions run `rm -rf /srv/production/<absent>` from a staging session:
the shipped policy's rule remove-outside-scope kills them at their exec
(exit 123). Control: the same command outside a session exits 0."""

import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time

from enforce import verify_chain, write_policy
from harness import KILLED, REPO, check, eq, fail, make_cert, rand_marker, wait_until

DEFAULT = REPO / "policies" / "default.yaml"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def policy(t, outputs):
    return write_policy(t, f"extends: {DEFAULT}\noutputs:\n{outputs}")


def kill_session(t, d):
    """A session killed at its exec."""
    target = f"/srv/production/{rand_marker('sl-e2e-absent')}"
    check(not os.path.exists(target), f"{target} must not exist")
    r = d.run(["rm", "-rf", target])
    eq(r.rc, KILLED, f"the session is killed at its exec ({r})")


def control(t):
    target = f"/srv/production/{rand_marker('sl-e2e-absent')}"
    eq(t.outside(["rm", "-rf", target]).rc, 0, "control: the same rm outside a session")


def alert_lines(d):
    """The alert-class lines of the alerts file (exactly as in the log)."""
    p = os.path.join(d.audit, "alerts.jsonl")
    try:
        with open(p) as f:
            return [ln.rstrip("\n") for ln in f if ln.strip()]
    except FileNotFoundError:
        return []


def log_lines(d):
    with open(os.path.join(d.audit, "audit.jsonl")) as f:
        return {ln.rstrip("\n") for ln in f}


class Receiver:
    """A loopback webhook receiver: mode "slow" answers after slow_s (longer
    than the daemon's timeout), "up" answers 200 and keeps the body."""

    def __init__(self, port, slow_s=2.5, tls=None, mode="slow"):
        self.port = port
        self.mode = mode
        self.slow_s = slow_s
        self.acked = []      # bodies answered 200
        self.slow_hits = 0   # requests seen while slow
        self.lock = threading.Lock()
        rx = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if rx.mode == "slow":
                    with rx.lock:
                        rx.slow_hits += 1
                    time.sleep(rx.slow_s)
                    try:
                        self.send_response(503)
                        self.end_headers()
                    except OSError:
                        pass
                    return
                ok = self.headers.get("Content-Type") == "application/json"
                with rx.lock:
                    if ok:
                        rx.acked.append(body.decode())
                self.send_response(200 if ok else 415)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
        self.srv.daemon_threads = True
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.srv.socket = ctx.wrap_socket(self.srv.socket, server_side=True)
        self.th = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.th.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_outputs_webhook_down_slow_up_and_program(t):
    """Webhook down, then slow (answers after the timeout), then up: every
    alert arrives once it is up, each body exactly an alerts-file line; the
    sessions are killed meanwhile. The program output gets the same lines."""
    control(t)
    port = free_port()
    got = t.tmp / "program.jsonl"
    p = policy(t, f"""  webhook:
    url: http://127.0.0.1:{port}/alerts
    timeout: 1s
    retries: 100000
    backoff: 100ms
    backoff_max: 400ms
    queue: 100
  program:
    command: "cat >> {got}"
""")
    d = t.daemon(policy=str(p))
    # down: nothing listens on the port
    for _ in range(3):
        kill_session(t, d)
    n_down = len(alert_lines(d))
    check(n_down >= 3, f"alerts in the alerts file while the webhook is down: {n_down}")
    rx = Receiver(port)
    t.on_cleanup(rx.close)
    wait_until(lambda: rx.slow_hits >= 1, 20, "the daemon retries against the slow receiver")
    # slow: the daemon's attempts time out; sessions are still killed
    for _ in range(2):
        kill_session(t, d)
    check(not rx.acked, "nothing acknowledged while slow")
    rx.mode = "up"
    want = alert_lines(d)
    wait_until(lambda: set(want) <= set(rx.acked), 30,
               "every alert acknowledged by the webhook once it is up")
    # each body is a line of the log as written: redacted the same way, chained
    logged = log_lines(d)
    for b in rx.acked:
        check(b in logged, f"the webhook body is a line of the audit log: {b[:200]}")
    check(len(rx.acked) >= 5 and all(json.loads(b)["type"] == "alert" for b in rx.acked),
          f"the five kill alerts delivered: {[b[:80] for b in rx.acked]}")
    # the program got every alert line, in order
    wait_until(lambda: got.exists() and
               [ln for ln in got.read_text().splitlines() if ln] == alert_lines(d), 15,
               "the program's stdin got every alert line in order")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
    recs = [json.loads(x) for x in log_lines(d) if x]
    check(not [r for r in recs if r.get("type") == "output_dropped"],
          "no alert dropped (nothing past the queue bound)")


# shrinks its stdin pipe to one page (reading what is already more than
# that), says it is running, and never reads again
UNREAD = """import fcntl, sys, time
while True:
    try:
        fcntl.fcntl(0, 1031, 4096)  # F_SETPIPE_SZ
        break
    except OSError:
        sys.stdin.buffer.readline()
open("{marker}", "w").close()
time.sleep(600)
"""


def test_outputs_program_restarted_and_unread(t):
    """A program that exits after each line is started again and gets every
    alert; a program that never reads fills its pipe and its queue: the
    sessions are still killed, and the drops are recorded (output_dropped)."""
    control(t)
    got = t.tmp / "program.jsonl"
    # one line (read byte by byte by the shell), then exit: started again for the next
    p = policy(t, f"""  program:
    command: 'read -r l; printf "%s\\n" "$l" >> {got}'
""")
    d = t.daemon(policy=str(p))
    for _ in range(3):
        kill_session(t, d)
    wait_until(lambda: got.exists() and
               [ln for ln in got.read_text().splitlines() if ln] == alert_lines(d), 30,
               "every alert reached the program, started again after each line")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    # a program that never reads (a pipe of one page), queue of 2
    t2 = t.tmp / "unread"
    t2.mkdir()
    marker = t2 / "started"
    prog = t.write("unread.py", UNREAD.format(marker=marker))
    p = write_policy(t, f"""extends: {DEFAULT}
outputs:
  program:
    command: "exec python3 {prog}"
    queue: 2
""", name="unread.yaml")
    d2 = t.daemon(policy=str(p))
    # the program starts with the daemon (before any alert)
    wait_until(marker.exists, 20, "the unread program started and shrank its pipe")
    for i in range(10):
        kill_session(t, d2)
    drop = d2.wait_record(lambda r: r.get("type") == "output_dropped" and
                          r.get("output") == "program" and r.get("reason") == "queue_full",
                          timeout=10, what="output_dropped (queue_full)")
    check(drop.get("count", 0) >= 1, f"drops counted: {drop}")
    t0 = time.monotonic()
    eq(d2.stop(), 0, "scopelockd exit status on SIGTERM with an unread program")
    check(time.monotonic() - t0 < 14, "the daemon stopped although its program never read")
    verify_chain(d2)


RSYSLOG_CONF = """global(workDirectory="{dir}")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="{sock}" UseSpecialParser="off" ParseHostname="on")
template(name="sl" type="string"
         string="%programname% %msgid% %syslogseverity-text% %syslogfacility-text% %structured-data% %msg%\\n")
*.* action(type="omfile" file="{out}" template="sl")
"""


def test_outputs_rsyslog_structured(t):
    """A private rsyslogd (its own config, socket and output file) receives
    each alert as RFC 5424 with the structured data [scopelock@32473 ...]."""
    rsyslogd = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
    if not os.path.exists(rsyslogd):
        fail("rsyslogd is not installed (apt-get install rsyslog; tools/deps.sh test)")
    control(t)
    rd = t.tmp / "rsyslog"
    rd.mkdir()
    sock, out = rd / "log.sock", rd / "out.log"
    conf = rd / "rsyslog.conf"
    conf.write_text(RSYSLOG_CONF.format(dir=rd, sock=sock, out=out))
    r = subprocess.run([rsyslogd, "-N1", "-f", str(conf)], capture_output=True, text=True)
    eq(r.returncode, 0, f"rsyslogd -N1 accepts the config: {r.stderr}")
    proc = t.popen([rsyslogd, "-n", "-f", str(conf), "-i", str(rd / "pid")],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: sock.exists(), 10, "rsyslogd's socket")
    p = policy(t, f"""  syslog:
    socket: {sock}
""")
    d = t.daemon(policy=str(p))
    kill_session(t, d)
    want = [json.loads(x) for x in alert_lines(d)]
    alert = next(a for a in want if a["type"] == "alert")

    def found():
        if not out.exists():
            return False
        return any(f'seq="{alert["seq"]}"' in ln and ' alert ' in ln
                   for ln in out.read_text().splitlines())
    wait_until(found, 15, "rsyslog wrote the alert")
    line = next(ln for ln in out.read_text().splitlines() if f'seq="{alert["seq"]}"' in ln)
    check(line.startswith("scopelockd alert alert authpriv [scopelock@32473 "),
          f"app name, msgid, severity, facility, SD-ID: {line[:200]}")
    for k in ("rule", "session", "action", "verdict", "hash"):
        check(f'{k}="{alert[k]}"' in line, f"structured data {k}: {line[:400]}")
    # the message is the record as logged
    logged = next(a for a in alert_lines(d) if json.loads(a)["seq"] == alert["seq"])
    check(line.endswith("] " + logged), f"the message is the logged line: {line}")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    proc.terminate()
    proc.wait(timeout=10)


# a private systemd-journald for the daemon: its own mount namespace, /run/systemd
# a tmpfs (the journal's sockets), /run/log the test's directory (the journal files)
JOURNALD_LAUNCH = """set -e
mount -t tmpfs tmpfs /run/systemd
mkdir -p /run/systemd/journal /run/log
mount --bind {jlog} /run/log
/lib/systemd/systemd-journald &
echo $! > {jpid}
i=0
while [ ! -S /run/systemd/journal/socket ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
exec "$@"
"""


def test_outputs_journald_fields(t):
    """journald gets each alert with SCOPELOCK_* fields (journalctl -o json).
    This machine runs no journald: the test starts a private one for the
    daemon (its own mount namespace) and reads its journal files."""
    journald = "/lib/systemd/systemd-journald"
    if not os.path.exists(journald) or not shutil.which("journalctl"):
        fail("systemd-journald/journalctl are not installed (tools/deps.sh test: systemd)")
    from harness import Daemon  # noqa: PLC0415
    control(t)
    jlog, jpid = t.tmp / "jlog", t.tmp / "journald.pid"
    jlog.mkdir()
    launch = t.write("launch.sh", JOURNALD_LAUNCH.format(jlog=jlog, jpid=jpid))

    def stop_journald():
        if jpid.exists():
            try:
                os.kill(int(jpid.read_text()), 15)
            except ProcessLookupError:
                pass
    t.on_cleanup(stop_journald)
    p = policy(t, "  journald: true\n")
    d = Daemon(t, policy=str(p))
    d.argv = ["unshare", "-m", "--propagation", "private", "sh", str(launch)] + d.argv
    t.daemons.append(d)
    d.start()
    kill_session(t, d)
    alert = next(json.loads(x) for x in alert_lines(d) if json.loads(x)["type"] == "alert")
    mid = open("/etc/machine-id").read().strip()

    def entries():
        r = subprocess.run(["journalctl", "-o", "json", "--no-pager", "-D",
                            str(jlog / "journal" / mid), "SYSLOG_IDENTIFIER=scopelockd"],
                           capture_output=True, text=True)
        return [json.loads(x) for x in r.stdout.splitlines() if x.startswith("{")]
    wait_until(lambda: any(e.get("SCOPELOCK_SEQ") == str(alert["seq"]) for e in entries()),
               15, "the alert in the journal")
    e = next(e for e in entries() if e.get("SCOPELOCK_SEQ") == str(alert["seq"]))
    for k in ("type", "rule", "session", "action", "verdict", "hash", "scope"):
        eq(e.get("SCOPELOCK_" + k.upper()), str(alert[k]), f"SCOPELOCK_{k.upper()}")
    eq(e.get("PRIORITY"), "1", "PRIORITY (alert)")
    eq(e.get("SYSLOG_FACILITY"), "10", "SYSLOG_FACILITY (authpriv)")
    logged = next(a for a in alert_lines(d) if json.loads(a)["seq"] == alert["seq"])
    eq(e.get("SCOPELOCK_RECORD"), logged, "SCOPELOCK_RECORD is the line of the log")
    check("remove-outside-scope" in e.get("MESSAGE", ""), f"MESSAGE: {e.get('MESSAGE')}")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
    stop_journald()


def test_outputs_policy_errors_and_reload(t):
    """Bad outputs settings are refused with file, line and field; a drop-in
    adds an output; a reload turns an output on in a running daemon."""
    from enforce import policy_check  # noqa: PLC0415
    bad = write_policy(t, f"""extends: {DEFAULT}
outputs:
  webhook:
    url: ftp://example.com/x
    timeout: 5 minutes
    backoff: 2s
    backoff_max: 1s
  program: {{}}
  syslog:
    socket: relative/path
  journald: maybe
  mail: x
""", name="bad.yaml")
    r = policy_check(bad)
    eq(r.rc, 1, f"policy check refuses the outputs ({r})")
    for line, field in ((4, "outputs.webhook.url"), (5, "outputs.webhook.timeout"),
                        (7, "outputs.webhook.backoff_max"), (8, "outputs.program.command"),
                        (10, "outputs.syslog.socket"), (11, "outputs.journald"),
                        (12, "outputs.mail")):
        check(f"{bad}:{line}:" in r.stdout + r.stderr and f"field '{field}'" in r.stdout + r.stderr,
              f"the error names {bad}:{line} and {field}: {r.stdout}{r.stderr}")
    # a drop-in adds an output to a site policy; its error names the drop-in
    site = write_policy(t, f"extends: {DEFAULT}\n", name="site.yaml")
    (t.tmp / "site.d").mkdir()
    (t.tmp / "site.d" / "50-out.yaml").write_text("outputs:\n  webhook:\n    url: nope\n")
    r = policy_check(site)
    check(r.rc == 1 and f"{t.tmp}/site.d/50-out.yaml:3:" in r.stdout + r.stderr,
          f"the drop-in's error names the drop-in ({r})")
    # reload: no output, then a program output
    got = t.tmp / "program.jsonl"
    (t.tmp / "site.d" / "50-out.yaml").unlink()
    d = t.daemon(policy=str(site))
    kill_session(t, d)
    (t.tmp / "site.d" / "50-out.yaml").write_text(
        f'outputs:\n  program:\n    command: "cat >> {got}"\n')
    r = d.cli("policy", "reload")
    eq(r.rc, 0, f"policy reload ({r})")
    n_before = len(alert_lines(d))
    kill_session(t, d)
    wait_until(lambda: got.exists() and
               [ln for ln in got.read_text().splitlines() if ln] == alert_lines(d)[n_before:],
               15, "the alerts after the reload reached the program")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)


def test_outputs_webhook_https(t):
    """HTTPS: the server's certificate verified against ca_file, the alert
    delivered. Control: the same server without ca_file (the system's CAs do
    not know it) gets nothing, and the log says why (output_dropped,
    retries_spent, the TLS error)."""
    control(t)
    cert, key = make_cert(t)
    port = free_port()
    rx = Receiver(port, tls=(str(cert), str(key)), mode="up")
    t.on_cleanup(rx.close)
    site = write_policy(t, f"extends: {DEFAULT}\n", name="site.yaml")
    (t.tmp / "site.d").mkdir()
    drop_in = t.tmp / "site.d" / "50-webhook.yaml"
    drop_in.write_text(f"""outputs:
  webhook:
    url: https://localhost:{port}/alerts
    ca_file: {cert}
    retries: 2
    backoff: 50ms
""")
    d = t.daemon(policy=str(site))
    kill_session(t, d)
    want = alert_lines(d)
    wait_until(lambda: set(want) <= set(rx.acked), 15, "the alert delivered over HTTPS")
    # control: no ca_file
    drop_in.write_text(drop_in.read_text().replace(f"    ca_file: {cert}\n", ""))
    eq(d.cli("policy", "reload").rc, 0, "policy reload")
    n = len(rx.acked)
    kill_session(t, d)
    drop = d.wait_record(lambda r: r.get("type") == "output_dropped" and
                         r.get("reason") == "retries_spent", timeout=15,
                         what="output_dropped (retries_spent)")
    eq(drop.get("output"), "webhook", "the webhook dropped it")
    check("certificate" in drop.get("last_error", "").lower() or
          "ssl" in drop.get("last_error", "").lower(), f"the TLS error is said: {drop}")
    eq(len(rx.acked), n, "nothing delivered to an unverified server")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
