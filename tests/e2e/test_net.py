# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""connect (TCP v4, v6, v4-mapped, refused, connected UDP) and UDP sendto
(a DNS query) records, with exact addresses, ports and results."""

import json
import socket
import struct

from checks import check_common
from harness import PY, TCPListener, UDPListener, check, eq, rand_marker, short, wait_until

TCP_SCRIPT = r'''
import json, os, socket, sys
out = sys.argv[1]
p4, p6, pclosed = map(int, sys.argv[2:5])
marker = sys.argv[5].encode()
res = {"pid": os.getpid(), "fds": []}
def go(fam, addr, payload):
    s = socket.socket(fam, socket.SOCK_STREAM)
    res["fds"].append(s.fileno())
    try:
        s.connect(addr)
    except OSError as e:
        res["refused_errno"] = e.errno
        s.close()
        return
    s.sendall(payload)
    s.close()
go(socket.AF_INET, ("127.0.0.1", p4), b"v4-" + marker)
go(socket.AF_INET6, ("::1", p6), b"v6-" + marker)
go(socket.AF_INET6, ("::ffff:127.0.0.1", p4), b"mapped-" + marker)
go(socket.AF_INET, ("127.0.0.1", pclosed), b"")
json.dump(res, open(out, "w"))
'''

UDP_SCRIPT = r'''
import json, os, socket, sys
out = sys.argv[1]
pu4, pu6 = map(int, sys.argv[2:4])
q4, q6, qc = (bytes.fromhex(x) for x in sys.argv[4:7])
res = {"pid": os.getpid()}
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(q4, ("127.0.0.1", pu4))
s.close()
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(q6, ("::1", pu6))
s.close()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", pu4))
res["connected_fd"] = s.fileno()
s.send(qc)
s.close()
json.dump(res, open(out, "w"))
'''


def dns_query(name, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)


def net_records(d, sid, pid):
    return [x for x in d.records(session=sid) if x.get("pid") == pid and x.get("type") in
            ("connect", "connect_result", "udp_send")]


def check_dest(x, family, addr, port, protocol, what):
    eq(x.get("family"), family, f"{what}: family")
    eq(x.get("addr"), addr, f"{what}: addr")
    eq(x.get("port"), port, f"{what}: port")
    eq(x.get("protocol"), protocol, f"{what}: protocol")


def test_tcp_connect_v4_v6_mapped_refused(t):
    d = t.daemon()
    m = rand_marker("tcp")
    l4 = TCPListener(t, socket.AF_INET)
    l6 = TCPListener(t, socket.AF_INET6)
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(("127.0.0.1", 0))  # bound, not listening: connect is refused
    t.on_cleanup(closed.close)
    pclosed = closed.getsockname()[1]
    script = t.write("tcp_session.py", TCP_SCRIPT)
    out = t.tmp / "tcp_result.json"
    r = d.run([PY, str(script), str(out), str(l4.port), str(l6.port), str(pclosed), m])
    eq(r.rc, 0, f"run exit status ({r})")
    res = json.loads(out.read_text())
    eq(res.get("refused_errno"), 111, "errno of the refused connect in the session")
    wait_until(lambda: len(l4.received) >= 2 and len(l6.received) >= 1, 5,
               "the listeners to receive the session's data")
    check(f"v4-{m}".encode() in l4.received, f"v4 listener got {l4.received!r}")
    check(f"mapped-{m}".encode() in l4.received, f"v4 listener got {l4.received!r}")
    eq(l6.received, [f"v6-{m}".encode()], "what the v6 listener received")

    sid = d.finished_session(r)
    recs = net_records(d, sid, res["pid"])
    dump = d.dump(session=sid, types=("connect", "connect_result", "udp_send"))
    eq([x["type"] for x in recs], ["connect", "connect_result"] * 4,
       "connect/connect_result records of the session script, in order\n" + dump)
    for x in recs:
        check_common(x, sid)
    check_dest(recs[0], "inet", "127.0.0.1", l4.port, "tcp", "v4 connect")
    check_dest(recs[2], "inet6", "::1", l6.port, "tcp", "v6 connect")
    check_dest(recs[4], "inet6", "::ffff:127.0.0.1", l4.port, "tcp", "v4-mapped connect")
    check(recs[4].get("mapped_ipv4") in ("127.0.0.1", True),
          f"v4-mapped connect must be flagged (mapped_ipv4): {short(recs[4])}")
    check(not recs[0].get("mapped_ipv4") and not recs[2].get("mapped_ipv4"),
          f"plain v4/v6 connects are not mapped: {short(recs[0])} {short(recs[2])}")
    check_dest(recs[6], "inet", "127.0.0.1", pclosed, "tcp", "refused connect")
    for i, fd, result in ((1, res["fds"][0], 0), (3, res["fds"][1], 0), (5, res["fds"][2], 0),
                          (7, res["fds"][3], -111)):
        eq(recs[i].get("fd"), fd, f"connect_result #{i // 2 + 1}: fd")
        eq(recs[i].get("result"), result, f"connect_result #{i // 2 + 1}: result")
    eq(recs[7].get("errno"), 111, "refused connect_result errno")
    eq(recs[7].get("error"), "ECONNREFUSED", "refused connect_result error")
    check("errno" not in recs[1], f"successful connect_result has errno: {short(recs[1])}")
    for i in (0, 2, 4, 6):
        eq(recs[i].get("sock_type"), "stream", f"connect #{i // 2 + 1}: sock_type")
    # connect_result carries the peer the kernel holds
    check_dest(recs[1], "inet", "127.0.0.1", l4.port, "tcp", "v4 connect_result")
    check_dest(recs[3], "inet6", "::1", l6.port, "tcp", "v6 connect_result")


def test_udp_dns_sendto(t):
    d = t.daemon()
    m = rand_marker("dns")
    u4 = UDPListener(t, socket.AF_INET)
    u6 = UDPListener(t, socket.AF_INET6)
    q4 = dns_query(f"{m}-v4.example.test", 0x1234)
    q6 = dns_query(f"{m}-v6.example.test", 0x5678)
    qc = dns_query(f"{m}-conn.example.test", 0x9abc)
    # the same query sent from outside any session is never recorded
    qout = dns_query(f"{m}-outside.example.test", 0x4321)
    so = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    so.sendto(qout, ("127.0.0.1", u4.port))
    so.close()
    script = t.write("udp_session.py", UDP_SCRIPT)
    out = t.tmp / "udp_result.json"
    r = d.run([PY, str(script), str(out), str(u4.port), str(u6.port), q4.hex(), q6.hex(),
               qc.hex()])
    eq(r.rc, 0, f"run exit status ({r})")
    res = json.loads(out.read_text())
    wait_until(lambda: len(u4.received) >= 3 and len(u6.received) >= 1, 5,
               "the UDP listeners to receive the queries")
    got4 = [p for p, _ in u4.received]
    check(q4 in got4 and qc in got4, "the v4 listener did not receive the queries")
    eq([p for p, _ in u6.received], [q6], "what the v6 listener received")

    sid = d.finished_session(r)
    recs = net_records(d, sid, res["pid"])
    dump = d.dump(session=sid, types=("connect", "connect_result", "udp_send"))
    eq([x["type"] for x in recs], ["udp_send", "udp_send", "connect", "connect_result"],
       "network records of the session script, in order (a connected send has no udp_send)\n"
       + dump)
    for x in recs:
        check_common(x, sid)
    check_dest(recs[0], "inet", "127.0.0.1", u4.port, "udp", "v4 sendto")
    check_dest(recs[1], "inet6", "::1", u6.port, "udp", "v6 sendto")
    check_dest(recs[2], "inet", "127.0.0.1", u4.port, "udp", "UDP connect")
    for x in recs[:3]:
        eq(x.get("sock_type"), "dgram", f"{x['type']}: sock_type")
    eq(recs[3].get("fd"), res["connected_fd"], "UDP connect_result fd")
    eq(recs[3].get("result"), 0, "UDP connect_result result")
    # the outside send came before the session, whose end is written after
    # the ring was drained: had it been recorded, it would be in the log
    all_udp = d.records(type="udp_send")
    eq(len(all_udp), 2, "udp_send records in the whole log (the outside send must not be one)\n"
       + "\n".join(short(x) for x in all_udp))
