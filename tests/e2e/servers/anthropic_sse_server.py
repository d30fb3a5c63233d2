# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A scripted Anthropic Messages API over TLS on 127.0.0.1: HEAD / answers 200,
POST /v1/messages a streamed (SSE) text answer "PONG-4711". Every request is
logged as one JSON line with its exact length as received (head + body).

usage: anthropic_sse_server.py PORT_FILE LOG CERT KEY"""
import json, socket, ssl, sys, threading
port_file, log_path, cert, key = sys.argv[1:5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.set_alpn_protocols(['http/1.1'])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(('127.0.0.1', 0)); ls.listen(16)
open(port_file, 'w').write(str(ls.getsockname()[1]))
lock = threading.Lock()
def sse(ev, data): return ('event: %s\ndata: %s\n\n' % (ev, json.dumps(data))).encode()
def reply(model):
    msg = {"id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
           "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 1}}
    b = sse('message_start', {"type": "message_start", "message": msg})
    b += sse('content_block_start', {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
    b += sse('content_block_delta', {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "PONG-4711"}})
    b += sse('content_block_stop', {"type": "content_block_stop", "index": 0})
    b += sse('message_delta', {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 3}})
    b += sse('message_stop', {"type": "message_stop"})
    return b
def handle(c):
    try:
        s = ctx.wrap_socket(c, server_side=True)
        buf = b''
        while True:
            while b'\r\n\r\n' not in buf:
                d = s.recv(65536)
                if not d: return
                buf += d
            head, rest = buf.split(b'\r\n\r\n', 1)
            hl = head.decode('latin1').lower()
            n = 0
            for line in hl.split('\r\n'):
                if line.startswith('content-length:'): n = int(line.split(':')[1])
            while len(rest) < n:
                d = s.recv(65536)
                if not d: break
                rest += d
            body, buf = rest[:n], rest[n:]
            req = head + b'\r\n\r\n' + body
            with lock:
                with open(log_path, 'ab') as f:
                    f.write(json.dumps({"len": len(req), "head": head.decode('latin1'), "body": body.decode('utf-8', 'replace')}).encode() + b'\n')
            if b' /v1/messages' in head.split(b'\r\n')[0]:
                try: model = json.loads(body).get('model', 'x')
                except Exception: model = 'x'
                out = reply(model)
                s.sendall(b'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n' % len(out) + out)
            elif head.startswith(b'HEAD '):
                s.sendall(b'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n')
            else:
                s.sendall(b'HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}')
    except Exception as e:
        print('conn error', e, file=sys.stderr)
while True:
    c, _ = ls.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
