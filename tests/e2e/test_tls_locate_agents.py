# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""TLS entry points of the real agents without symbols (user/lib/tls_locate.h,
bin/tls-locate), on the builds from npm (tests/e2e/lib/agent_builds.py pins them):

- every pinned Claude Code build: BoringSSL, SSL_write and SSL_read located
  by the offset table and, independently, by the structural search, at the
  same offsets, nothing rejected;
- live: uprobes (tracefs uprobe events, independent of scopelock's BPF) at
  the located offsets while `claude -p` talks to the test's scripted
  Anthropic server on loopback: the SSL_write calls add up to exactly the
  bytes the server received and each one's first 64 bytes are the server's
  bytes at its offset; the SSL_read returns are the responses' lengths;
- Codex on aws-lc (the pinned build and an older one): rustls, with the
  aws-lc-rs and the OpenSSL it also embeds; aws-lc's EVP_AEAD_CTX_seal,
  _seal_scatter and _open located by their error sites, and ring's seals
  (it carries ring too), nothing rejected;
- Codex 0.99 (rustls on ring): ring's AES-GCM and ChaCha20-Poly1305 seals
  located from ring's algorithm statics (its API client uses the OpenSSL it
  also embeds: tests/agents/test_codex.py shows what follows).
No daemon: the locator alone."""

import json
import os
import re
import subprocess
import time

import agent_builds as agents
from harness import BIN_DIR, REPO, check, eq, fail, make_cert, need_binary, wait_until

LOCATE = BIN_DIR / "tls-locate"
TRACING = "/sys/kernel/tracing"


def locate(path, *flags):
    p = subprocess.run([str(LOCATE), "--json", *flags, str(path)], capture_output=True,
                       timeout=120, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"tls-locate {path} failed: {p.stderr.decode(errors='replace')}")
    return json.loads(p.stdout)


def funcs(r):
    return {f["function"]: f for f in r["functions"]}


def test_tls_locate_claude_code_builds(t):
    for v in agents.CLAUDE_VERSIONS:
        exe = agents.claude(v)
        tab, srch = locate(exe), locate(exe, "--search")
        for r, how in ((tab, "table"), (srch, "search")):
            eq(r["impl"], "boringssl", f"{v} impl ({how})")
            eq(sorted(funcs(r)), ["SSL_read", "SSL_write"], f"{v} functions ({how})")
            eq(r["rejected"], [], f"{v} rejected candidates ({how})")
            for f in r["functions"]:
                eq(f["how"], how, f"{v} {f['function']} found by")
                check(f["retprobe_ok"], f"{v} {f['function']}: return probe allowed")
        for name in ("SSL_write", "SSL_read"):
            eq(funcs(srch)[name]["offset"], funcs(tab)[name]["offset"],
               f"{v} {name}: search and table agree")
        check("{66,111,215,226}" in funcs(srch)["SSL_write"]["evidence"],
              f"{v} SSL_write evidence: {funcs(srch)['SSL_write']['evidence']}")
        print(f"    {v}: {tab['impl_detail']}: SSL_write {funcs(tab)['SSL_write']['offset']} "
              f"SSL_read {funcs(tab)['SSL_read']['offset']}; table {tab['elapsed_ms']:.0f} ms, "
              f"search {srch['elapsed_ms']:.0f} ms")


def test_tls_locate_codex_builds(t):
    for v in agents.CODEX_AWSLC_VERSIONS:
        r = locate(agents.codex(v))
        eq(r["impl"], "rustls", f"codex {v} impl")
        check(re.fullmatch(r"rustls 0\.23\.\d+ on aws-lc-rs 1\.[0-9.]+ "
                           r"\(also embeds OpenSSL 3\.[0-9.]+\)", r["impl_detail"]),
              f"codex {v} impl_detail: {r['impl_detail']!r}")
        # ring too: it carries both providers
        eq(sorted(funcs(r)), ["EVP_AEAD_CTX_open", "EVP_AEAD_CTX_seal",
                              "EVP_AEAD_CTX_seal_scatter", "ring aes_gcm_seal",
                              "ring chacha20_poly1305_seal"],
           f"codex {v} functions")
        eq(r["rejected"], [], f"codex {v} rejected candidates")
        check("{103,115,117}" in funcs(r)["EVP_AEAD_CTX_seal"]["evidence"],
              f"codex {v} seal evidence: {funcs(r)['EVP_AEAD_CTX_seal']['evidence']}")
        check("{112,115}" in funcs(r)["EVP_AEAD_CTX_seal_scatter"]["evidence"],
              f"codex {v} seal_scatter evidence")
        print(f"    codex {v}: {r['impl_detail']}: seal "
              f"{funcs(r)['EVP_AEAD_CTX_seal']['offset']}, seal_scatter "
              f"{funcs(r)['EVP_AEAD_CTX_seal_scatter']['offset']}; {r['elapsed_ms']:.0f} ms")
    r = locate(agents.codex(agents.CODEX_RING_VERSION))
    eq(r["impl"], "rustls", "codex 0.99 impl")
    check(re.fullmatch(r"rustls 0\.23\.\d+ on ring 0\.17\.\d+ \(also embeds OpenSSL 3\.[0-9.]+\)",
                       r["impl_detail"]), f"codex 0.99 impl_detail: {r['impl_detail']!r}")
    eq(sorted(funcs(r)), ["ring aes_gcm_seal", "ring chacha20_poly1305_seal"],
       "codex 0.99 functions (ring's seals, from its algorithm statics)")
    eq(r["rejected"], [], "codex 0.99 rejected candidates")


def _tracefs(rel, text, append=False):
    # os.write: Python's append mode seeks, which tracefs refuses
    fd = os.open(f"{TRACING}/{rel}", os.O_WRONLY | (os.O_APPEND if append else os.O_TRUNC))
    try:
        os.write(fd, (text + "\n").encode())
    finally:
        os.close(fd)


def test_tls_locate_claude_live_ssl_write(t):
    """The located offsets are SSL_write/SSL_read of the running agent."""
    need_binary("/usr/bin/openssl")
    exe = agents.claude(agents.CLAUDE_VERSIONS[0])
    f = funcs(locate(exe))
    woff, roff = f["SSL_write"]["offset"], f["SSL_read"]["offset"]
    if not os.path.isdir(f"{TRACING}/instances"):
        subprocess.run(["mount", "-t", "tracefs", "none", TRACING], check=False)
    check(os.path.exists(f"{TRACING}/uprobe_events"), "tracefs uprobe_events not available")
    cert, key = make_cert(t)
    port_file, log = t.tmp / "port", t.tmp / "received.jsonl"
    t.popen(["/usr/bin/python3", str(REPO / "tests/e2e/servers/anthropic_sse_server.py"),
             str(port_file), str(log), str(cert), str(key)])
    port = wait_until(lambda: port_file.exists() and port_file.read_text().strip(), 10,
                      "the Anthropic server's port")
    group = f"sltl{os.getpid()}"
    inst = f"{TRACING}/instances/{group}"
    defs = [f"p:{group}/w {exe}:{woff} len=%dx:s32 buf=+0(%si):x8[64]",
            f"r:{group}/rr {exe}:{roff} ret=$retval:s32"]

    def undo():
        if os.path.isdir(inst):
            _tracefs(f"instances/{group}/events/{group}/enable", "0")
            os.rmdir(inst)
        for d in defs:
            try:
                _tracefs("uprobe_events", f"-:{d.split()[0][2:]}", append=True)
            except OSError:
                pass
    t.on_cleanup(undo)
    for d in defs:
        _tracefs("uprobe_events", d, append=True)
    os.mkdir(inst)
    _tracefs(f"instances/{group}/options/record-tgid", "1")
    _tracefs(f"instances/{group}/buffer_size_kb", "8192")
    _tracefs(f"instances/{group}/events/{group}/enable", "1")

    home = t.tmp / "home"
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home),
           "ANTHROPIC_BASE_URL": f"https://127.0.0.1:{port}", "ANTHROPIC_API_KEY": "sk-ant-test",
           "NODE_EXTRA_CA_CERTS": str(cert), "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    p = t.popen([str(exe), "-p", "Reply with the word in the ping: PING-SECRET-0815"],
                env=env, cwd=str(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=150)
    _tracefs(f"instances/{group}/events/{group}/enable", "0")
    check(p.returncode == 0 and b"PONG-4711" in out,
          f"claude -p: rc {p.returncode}, out {out[-300:]!r}, err {err[-600:]!r}")
    trace = open(f"{inst}/trace", errors="replace").read()
    mine = [ln for ln in trace.splitlines() if re.search(rf"\(\s*{p.pid}\)", ln)]
    writes = [(int(n), bytes(int(x, 16) for x in b.split(","))) for n, b in
              (re.search(r" w: \(0x[0-9a-f]+\) len=(-?\d+) buf=\{([0-9a-fx,]+)\}", ln).groups()
               for ln in mine if " w: (" in ln)]
    rets = [int(m.group(1)) for ln in mine for m in [re.search(r" rr: .* ret=(-?\d+)", ln)] if m]
    reqs = [json.loads(ln) for ln in log.read_text().splitlines()]
    stream = b"".join(r["head"].encode("latin1") + b"\r\n\r\n" + r["body"].encode() for r in reqs)
    check(writes, f"no SSL_write probe hit in claude (pid {p.pid}): {trace[-800:]}")
    check(any("/v1/messages" in r["head"].split("\r\n")[0] for r in reqs),
          f"the server got no /v1/messages request: {[r['head'][:40] for r in reqs]}")
    check(b"PING-SECRET-0815" in stream, "the prompt is in what the server received")
    eq(sum(n for n, _ in writes), len(stream), "SSL_write bytes vs bytes the server received")
    off = 0
    for i, (n, head) in enumerate(writes):
        eq(head[:min(n, 64)], stream[off:off + min(n, 64)], f"SSL_write #{i} at offset {off}")
        off += n
    check(any(r > 0 for r in rets), f"SSL_read returned no data: {rets}")
    print(f"    {len(writes)} SSL_write calls, {off} bytes = server; SSL_read returns "
          f"{[r for r in rets if r > 0]}")


test_tls_locate_claude_live_ssl_write.serial = True
