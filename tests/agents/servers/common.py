# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Plumbing shared by the loopback servers of the agent tests: an HTTPS server
(python3 standard library, HTTP/1.1 only) on 127.0.0.1 that appends one JSON
line per request it received to a log file, flushed at once.

Log line: {"seq", "time", "conn", "peer", "method", "path", "version",
"headers" (lower-case names; repeated names joined by ", "), "body_len",
"body_b64", "answer" (what the server did), plus what the role adds}.
A connection that fails its TLS handshake is logged as {"ev": "tls_error"}.
Every connection's ClientHello (peeked before the handshake) is logged as
{"ev": "client_hello", "conn", "peer", "record_len", "sni", "alpn",
"versions", "extensions", "ciphers"}: what the client's TLS stack offers.
"""

import base64
import gzip
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import zlib

_LOCK = threading.Lock()
_SEQ = [0]
_CONN = [0]


class Log:
    def __init__(self, path):
        self.f = open(path, "a")

    def write(self, rec):
        with _LOCK:
            _SEQ[0] += 1
            rec = {"seq": _SEQ[0], "time": time.time(), **rec}
            self.f.write(json.dumps(rec) + "\n")
            self.f.flush()


def parse_client_hello(data):
    """The members of a TLS ClientHello (the first record a client sends)
    that tell TLS stacks apart; None when data is not a whole ClientHello."""
    if len(data) < 5 or data[0] != 0x16:
        return None
    rec_len = int.from_bytes(data[3:5], "big")
    h = data[5:5 + rec_len]
    if len(h) < rec_len or len(h) < 4 or h[0] != 1:
        return None
    i = 4 + 2 + 32
    i += 1 + h[i]
    n = int.from_bytes(h[i:i + 2], "big")
    ciphers = n // 2
    i += 2 + n
    i += 1 + h[i]
    end = i + 2 + int.from_bytes(h[i:i + 2], "big")
    i += 2
    out = {"record_len": rec_len, "sni": None, "alpn": [], "versions": [], "extensions": [],
           "ciphers": ciphers}
    while i + 4 <= end:
        typ = int.from_bytes(h[i:i + 2], "big")
        ln = int.from_bytes(h[i + 2:i + 4], "big")
        ext = h[i + 4:i + 4 + ln]
        out["extensions"].append(typ)
        if typ == 0 and len(ext) > 5:
            out["sni"] = ext[5:5 + int.from_bytes(ext[3:5], "big")].decode("ascii", "replace")
        elif typ == 16 and len(ext) > 2:
            j = 2
            while j < len(ext):
                out["alpn"].append(ext[j + 1:j + 1 + ext[j]].decode("ascii", "replace"))
                j += 1 + ext[j]
        elif typ == 43 and ext:
            out["versions"] = ["%04x" % int.from_bytes(ext[k:k + 2], "big")
                               for k in range(1, 1 + ext[0], 2)]
        i += 4 + ln
    return out


def peek_client_hello(sock, timeout=2.0):
    """Wait (bounded) for the whole first record without consuming it."""
    deadline = time.monotonic() + timeout
    data = b""
    while time.monotonic() < deadline:
        try:
            data = sock.recv(16384, socket.MSG_PEEK)
        except OSError:
            return None
        if not data:
            return None
        if len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big"):
            return parse_client_hello(data)
        time.sleep(0.01)
    return parse_client_hello(data)


class Handler(http.server.BaseHTTPRequestHandler):
    """Subclasses implement route(body) -> (code, headers, body or iterator
    of chunks, answer, extra log members)."""

    protocol_version = "HTTP/1.1"
    server_version = "scopelock-test"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with _LOCK:
            _CONN[0] += 1
            self.conn_id = _CONN[0]

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
        else:
            n = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(n) if n else b""
        return data

    def decoded(self, raw):
        """The body with its Content-Encoding undone (gzip, deflate); other
        encodings are returned as sent."""
        enc = self.headers.get("Content-Encoding", "").lower()
        try:
            if enc == "gzip":
                return gzip.decompress(raw)
            if enc == "deflate":
                return zlib.decompress(raw)
        except (OSError, zlib.error):
            pass
        return raw

    def headers_dict(self):
        out = {}
        for k, v in self.headers.items():
            k = k.lower()
            out[k] = out[k] + ", " + v if k in out else v
        return out

    def _handle(self):
        raw = self.read_body()
        body = self.decoded(raw)
        try:
            code, headers, payload, answer, extra = self.route(body)
        except Exception as e:  # noqa: BLE001 - a server bug answers 500 and is logged
            code, headers, payload, answer, extra = (
                500, {"Content-Type": "text/plain"}, f"server error: {e!r}\n".encode(),
                "error", {"error": repr(e)})
        self.server.log.write({
            "conn": self.conn_id, "peer": list(self.client_address[:2]),
            "method": self.command, "path": self.path, "version": self.request_version,
            "headers": self.headers_dict(), "body_len": len(raw),
            "body_b64": base64.b64encode(body).decode(), "answer": answer, **extra})
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        if isinstance(payload, (bytes, bytearray)):
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        else:
            # an event stream: chunked, each chunk flushed as it is produced
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in payload:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        if code == 101 or self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler, ctx, log):
        self.log = log
        self.ctx = ctx
        super().__init__(("127.0.0.1", 0), handler)

    def get_request(self):
        conn, addr = self.socket.accept()
        conn.settimeout(60)
        return conn, addr

    def finish_request(self, request, client_address):
        """In the connection's thread: log the ClientHello, then TLS."""
        hello = peek_client_hello(request)
        if hello:
            self.log.write({"ev": "client_hello", "peer": list(client_address[:2]), **hello})
        tls = self.ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ssl.SSLError, ConnectionError, socket.timeout)):
            self.log.write({"ev": "tls_error", "peer": list(client_address[:2]),
                            "error": repr(e)})
            return
        print(f"server: error from {client_address}: {e!r}", file=sys.stderr, flush=True)


def serve(handler, argv_extra=None):
    """Parse --cert --key --log --port-file (and the role's own options via
    argv_extra(ap)), serve until killed."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    if argv_extra:
        argv_extra(ap)
    a = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(a.cert, a.key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = Server(handler, ctx, Log(a.log))
    srv.args = a
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.rename(tmp, a.port_file)
    threading.Event().wait()
