# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Enforcement on the connect channel: a production host label
127.0.0.2:PORT and rule connect-outside-scope (action deny). From a staging
session, connect() to it fails with EPERM and the listener sees nothing; the
unlabelled 127.0.0.1:PORT still works; the verdict is an alert; the session
is not killed; the same connect outside any session is not refused."""

import errno
import json
import socket
import threading

from enforce import World, alerts, finish, policy_text, start_daemon, wait_alert, write_policy
from harness import PY, check, eq, fail, rand_marker, short

RULE = "connect-outside-scope"

CLIENT = r'''
import json, socket, sys
port, marker = int(sys.argv[1]), sys.argv[2]
res = {}
for host in ("127.0.0.2", "127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.connect((host, port))
        s.sendall(("hello " + marker + " " + host).encode())
        res[host] = "ok"
    except OSError as e:
        res[host] = e.errno
    finally:
        s.close()
print(json.dumps(res))
'''


class Listeners:
    """TCP listeners on 127.0.0.2 and 127.0.0.1 with the same port."""

    def __init__(self, t):
        for _ in range(100):
            a = socket.socket()
            a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            a.bind(("127.0.0.2", 0))
            port = a.getsockname()[1]
            b = socket.socket()
            b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                b.bind(("127.0.0.1", port))
            except OSError:
                a.close()
                b.close()
                continue
            break
        else:
            fail("no port free on both 127.0.0.1 and 127.0.0.2")
        self.port = port
        self.got = {"127.0.0.2": [], "127.0.0.1": []}
        self.socks = [(a, "127.0.0.2"), (b, "127.0.0.1")]
        self._stop = False
        self.threads = []
        for s, host in self.socks:
            s.listen(16)
            s.settimeout(0.2)
            th = threading.Thread(target=self._loop, args=(s, host), daemon=True)
            th.start()
            self.threads.append(th)
        t.on_cleanup(self.close)

    def _loop(self, s, host):
        while not self._stop:
            try:
                c, peer = s.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(5)
            data = b""
            try:
                while True:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            c.close()
            self.got[host].append(data)

    def close(self):
        self._stop = True
        for s, _ in self.socks:
            s.close()
        for th in self.threads:
            th.join(2)


def test_enforce_connect_deny_production_host(t):
    w = World(t)
    ls = Listeners(t)
    envs = w.envs(prod_hosts=[f"127.0.0.2:{ls.port}"])
    rules = [{"name": RULE, "channel": "connect", "target": "outside_scope", "action": "deny"}]
    d = start_daemon(t, write_policy(t, policy_text(envs, [], rules,
                                                    settings={"syslog": False})))
    script = t.write("connect_client.py", CLIENT)

    # outside any session: nothing is refused
    mo = rand_marker("outside")
    o = t.outside([PY, str(script), str(ls.port), mo], timeout=30)
    eq(o.rc, 0, f"client outside a session ({o})")
    eq(json.loads(o.stdout), {"127.0.0.2": "ok", "127.0.0.1": "ok"}, "outside a session")

    m = rand_marker("in")
    name = rand_marker("conn")
    r = d.run([PY, str(script), str(ls.port), m], name=name, timeout=60)
    sid = d.session_id(name)
    dump = d.dump(session=sid, types=("connect", "connect_result", "alert", "verdict",
                                      "session_killed"))
    eq(r.rc, 0, f"client in a staging session ({r})\n{dump}")
    res = json.loads(r.stdout)
    eq(res.get("127.0.0.2"), errno.EPERM,
       f"connect to the production-labelled 127.0.0.2:{ls.port} (errno; {res})\n{dump}")
    eq(res.get("127.0.0.1"), "ok", f"connect to unlabelled 127.0.0.1:{ls.port}")
    d.wait_session_end(sid)
    check(not any(m.encode() in x for x in ls.got["127.0.0.2"]),
          f"the production listener received the session's data: {ls.got['127.0.0.2']!r}")
    eq(len(ls.got["127.0.0.2"]), 1, "connections accepted on 127.0.0.2 (only the outside one)")
    check(any(f"hello {m} 127.0.0.1".encode() in x for x in ls.got["127.0.0.1"]),
          f"the unlabelled listener did not receive the data: {ls.got['127.0.0.1']!r}")

    rec = wait_alert(d, sid, RULE)
    s = short(rec, 1500)
    eq(rec.get("verdict"), "denied", f"verdict of {s}")
    eq(rec.get("channel"), "connect", f"channel of {s}")
    eq(rec.get("target"), "outside_scope", f"target of {s}")
    check("production" in (rec.get("target_env") or []), f"target_env of {s}")
    ev = rec.get("evidence") or {}
    eq(ev.get("addr"), "127.0.0.2", f"evidence.addr of {s}")
    eq(ev.get("port"), ls.port, f"evidence.port of {s}")
    eq(len(alerts(d, sid, RULE)), 1, "alerts of the rule (the 127.0.0.1 connect is not one)")
    check(not d.records(session=sid, type="session_killed"), f"session killed by deny\n{dump}")
    finish(t, d, w)
