// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
// Loopback HTTPS servers for the request-decoding tests (tests/e2e/test_requests.py):
// an HTTP/2 server that also speaks HTTP/1.1 (ALPN) and a WebSocket server,
// and the same application without TLS: plaintext HTTP/1.1 and h2c (HTTP/2
// with prior knowledge), all on 127.0.0.1, ephemeral ports written to the
// port file as "H2PORT WSPORT HTTPPORT H2CPORT".
// Every request as the server application reads it is appended to the log
// (JSON lines, flushed at once):
//   {"ev":"accept","conn":N} / {"ev":"close","conn":N}
//   {"ev":"request","conn":N,"proto":"2.0","method","path","headers","body_b64"}
//        the body as the application reads it (gzip/deflate/br undone)
//   {"ev":"ws","conn":N,"path","opcode","b64"}   one WebSocket message, unmasked
// argv: cert key log portfile
'use strict';
const fs = require('fs');
const http2 = require('http2');
const http = require('http');
const https = require('https');
const zlib = require('zlib');

const [cert, key, logPath, portFile] = process.argv.slice(2);
const logFd = fs.openSync(logPath, 'a');
const log = (rec) => fs.writeSync(logFd, JSON.stringify(rec) + '\n');
let connSeq = 0;
const track = (sock) => {
	const conn = ++connSeq;
	sock.sl_conn = conn;
	log({ev: 'accept', conn});
	sock.on('close', () => log({ev: 'close', conn}));
};

const decode = (enc, buf) => {
	for (const e of (enc || '').split(',').map((s) => s.trim().toLowerCase()).reverse()) {
		if (e === 'gzip' || e === 'x-gzip') buf = zlib.gunzipSync(buf);
		else if (e === 'deflate') buf = zlib.inflateSync(buf);
		else if (e === 'br') buf = zlib.brotliDecompressSync(buf);
	}
	return buf;
};

const answer = (req, res) => {
	const parts = [];
	req.on('data', (d) => parts.push(d));
	req.on('end', () => {
		let body = Buffer.concat(parts);
		try {
			body = decode(req.headers['content-encoding'], body);
		} catch (e) {
			body = Buffer.from('undecodable: ' + e.message);
		}
		const sock = req.stream && req.stream.session ? req.stream.session.socket : req.socket;
		log({ev: 'request', conn: (sock && sock.sl_conn) || 0, proto: req.httpVersion,
		     method: req.method, path: req.url, headers: req.headers,
		     body_b64: body.toString('base64')});
		const out = '{"data":{"ok":true}}\n';
		res.writeHead(200, {'content-type': 'application/json',
				    'content-length': Buffer.byteLength(out)});
		res.end(out);
	});
};

const h2 = http2.createSecureServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key),
				      allowHTTP1: true}, answer);
h2.on('secureConnection', track);

// WebSocket (RFC 6455) without extensions: frames unmasked, messages logged
const ws = https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)});
ws.on('secureConnection', track);
ws.on('upgrade', (req, sock) => {
	const accept = require('crypto').createHash('sha1')
		.update(req.headers['sec-websocket-key'] + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
		.digest('base64');
	sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
		   'Connection: Upgrade\r\nSec-WebSocket-Accept: ' + accept + '\r\n\r\n');
	let buf = Buffer.alloc(0), msg = [], opcode = 0;
	sock.on('data', (d) => {
		buf = Buffer.concat([buf, d]);
		for (;;) {
			if (buf.length < 2) return;
			const fin = buf[0] & 0x80, op = buf[0] & 0x0f, masked = buf[1] & 0x80;
			let len = buf[1] & 0x7f, off = 2;
			if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
			else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
			const mk = masked ? buf.slice(off, off + 4) : null;
			if (masked) off += 4;
			if (buf.length < off + len) return;
			const p = Buffer.from(buf.slice(off, off + len));
			if (mk) for (let i = 0; i < p.length; i++) p[i] ^= mk[i & 3];
			buf = buf.slice(off + len);
			if (op === 8) { sock.end(); return; }
			if (op >= 8) continue;
			if (op) opcode = op;
			msg.push(p);
			if (fin) {
				log({ev: 'ws', conn: sock.sl_conn, path: req.url, opcode,
				     b64: Buffer.concat(msg).toString('base64')});
				msg = [];
				// answer so the client knows the message was read
				const out = Buffer.from('ok');
				sock.write(Buffer.concat([Buffer.from([0x81, out.length]), out]));
			}
		}
	});
});

// plaintext: HTTP/1.1, and h2c with prior knowledge
const plain = http.createServer(answer);
plain.on('connection', track);
const h2c = http2.createServer({}, answer);
h2c.on('connection', track);

let up = 0;
const ready = () => {
	if (++up < 4) return;
	fs.writeFileSync(portFile + '.tmp', [h2, ws, plain, h2c].map((s) => s.address().port)
		.join(' ') + '\n');
	fs.renameSync(portFile + '.tmp', portFile);
};
h2.listen(0, '127.0.0.1', ready);
ws.listen(0, '127.0.0.1', ready);
plain.listen(0, '127.0.0.1', ready);
h2c.listen(0, '127.0.0.1', ready);
