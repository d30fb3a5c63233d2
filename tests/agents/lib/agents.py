# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Drive the real AI coding agents (Claude Code, Codex, Gemini CLI, installed
by tests/agents/install.sh from the versions pinned in tests/agents/package.json)
against a scripted model API and an MCP server on loopback.

Everything of an agent test runs in a network namespace of its own that has
only a loopback interface (private_netns): the test's daemon, its servers and
the agents. Nothing an agent does can leave the machine, whatever its
configuration; the configuration below also turns off every side channel
(telemetry, update checks, plugins, analytics), and the session tests prove it
from the audit log (every connect of the session goes to the test's servers on
127.0.0.1, no DNS, no UDP).

The agents run as the unprivileged user `agent` with HOME, TMPDIR and the
working directory in the test's temp dir and an environment built here (not
the test's): PATH, HOME, TMPDIR, USER, LOGNAME, SHELL, LANG and the agent's
own variables.
"""

import base64
import ctypes
import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from harness import (PY, Result, check, eq, fail, need_binary, rand_marker, short,
                     wait_until)

AGENTS = Path(__file__).resolve().parents[1]
INSTALL = AGENTS / "install.sh"
SERVERS = AGENTS / "servers"
USER = "agent"
CLONE_NEWNET = 0x40000000
AGENT_TIMEOUT = int(os.environ.get("SL_AGENT_TIMEOUT", "120"))


def pending(reason):
    """Mark a test that cannot pass until another piece of work lands: the
    runner lists it as pending and runs it only with SL_E2E_PENDING=1 (or
    --pending), where it must fail today and pass afterwards."""
    def mark(fn):
        fn.pending = reason
        return fn
    return mark


# ---------------------------------------------------------------- installation

def install_dir():
    """The cache directory the pinned versions map to (install.sh --dir)."""
    p = subprocess.run(["/bin/sh", str(INSTALL), "--dir"], capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        fail(f"{INSTALL} --dir failed: {p.stderr.strip()}")
    return Path(p.stdout.strip())


def install_problem():
    """None when the pinned agents are installed and the user `agent`
    exists, else why not (with install.sh's last error when there is one)."""
    d = install_dir()
    if (d / "installed.json").is_file():
        try:
            pwd.getpwnam(USER)
            return None
        except KeyError:
            return f"the user '{USER}' does not exist (tests/agents/install.sh creates it)"
    last = d.parent / "last-error.txt"
    why = last.read_text().strip() if last.is_file() else "tests/agents/install.sh was not run"
    return f"the pinned agents are not installed in {d}: {why}"


def modules():
    problem = install_problem()
    if problem:
        fail(problem)
    return install_dir() / "node_modules"


# ---------------------------------------------------------------- isolation

def private_netns(t):
    """Move the calling thread (the test) into a new network namespace with
    only `lo` up; everything the test starts afterwards (daemon, servers,
    agents) is in it. Back to the original namespace at cleanup (registered
    first, so it runs last)."""
    libc = ctypes.CDLL(None, use_errno=True)
    orig = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)

    def restore():
        rc = libc.setns(orig, CLONE_NEWNET)
        err = ctypes.get_errno()
        os.close(orig)
        if rc != 0:
            raise OSError(err, "setns back to the original network namespace failed")
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        os.close(orig)
        fail(f"unshare(CLONE_NEWNET) failed: {os.strerror(err)}")
    t.on_cleanup(restore)
    ip = shutil.which("ip", path="/usr/sbin:/usr/bin:/sbin:/bin")
    check(ip, "ip (Debian package iproute2) is missing: apt-get install -y iproute2")
    p = subprocess.run([ip, "link", "set", "lo", "up"], capture_output=True, text=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    check(p.returncode == 0, f"ip link set lo up in the test's namespace: {p.stderr}")
    return os.readlink("/proc/thread-self/ns/net")


def make_ca_and_cert(t):
    """A per-test CA (the file agents are told to trust) and a server
    certificate it signed for localhost, 127.0.0.1 and ::1. Codex (rustls,
    webpki) refuses a self-signed certificate that is its own CA (harness
    make_cert: basicConstraints CA:TRUE) as a server certificate, so the
    servers here present a leaf of a separate CA."""
    d = t.tmp / "agents-tls"
    if (d / "cert.pem").exists():
        return d / "ca.pem", d / "cert.pem", d / "key.pem"
    need_binary("/usr/bin/openssl")
    d.mkdir(exist_ok=True)
    (d / "leaf.ext").write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    steps = [
        ["req", "-x509", *ec, "-days", "2", "-keyout", "ca.key", "-out", "ca.pem", "-subj",
         "/CN=scopelock agent tests CA", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", *ec, "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-out", "cert.pem", "-extfile", "leaf.ext"],
    ]
    for s in steps:
        p = subprocess.run(["/usr/bin/openssl", *s], cwd=d, capture_output=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        check(p.returncode == 0, f"openssl {s[0]} failed: {p.stderr.decode(errors='replace')}")
    for f in ("ca.pem", "cert.pem"):
        os.chmod(d / f, 0o644)
    return d / "ca.pem", d / "cert.pem", d / "key.pem"


# ---------------------------------------------------------------- servers

class LoopbackServer:
    """servers/<script> in its own process on 127.0.0.1 (the test's
    namespace), logging every request it received as JSON lines."""

    def __init__(self, t, script, extra=()):
        ca, cert, key = make_ca_and_cert(t)
        self.ca = ca
        d = Path(tempfile.mkdtemp(prefix=script.split(".")[0] + "-", dir=t.tmp))
        self.log = d / "requests.jsonl"
        self.stderr = d / "stderr"
        portfile = d / "port"
        self.proc = t.popen([PY, str(SERVERS / script), "--cert", str(cert), "--key", str(key),
                             "--log", str(self.log), "--port-file", str(portfile), *extra],
                            stdout=subprocess.DEVNULL, stderr=open(self.stderr, "wb"))

        def ready():
            if self.proc.poll() is not None:
                fail(f"{script} exited {self.proc.returncode}: "
                     + self.stderr.read_text(errors="replace"))
            try:
                return int(portfile.read_text().strip() or 0)
            except (OSError, ValueError):
                return 0
        self.port = wait_until(ready, 15, f"the port of {script}")
        self.url = f"https://127.0.0.1:{self.port}"

    def requests(self):
        out = []
        try:
            lines = self.log.read_text().splitlines()
        except FileNotFoundError:
            return out
        for line in lines:
            r = json.loads(line)
            if "body_b64" in r:
                r["body"] = base64.b64decode(r["body_b64"])
            out.append(r)
        return out

    def summary(self):
        rows = []
        for r in self.requests():
            if r.get("ev"):
                rows.append(f"  {r['ev']}: {r.get('error')}")
            else:
                rows.append(f"  {r['method']} {r['path']} ({r['body_len']} bytes) -> "
                            f"{r.get('answer')} rpc={r.get('rpc')} tool={r.get('tool')}")
        return "requests the server received:\n" + ("\n".join(rows) or "  (none)")


class ModelServer(LoopbackServer):
    """The scripted model (servers/model_server.py): answers a request that
    offers `tool` with a call of it (arguments `tool_input`), the request
    that carries its result with `final_text`."""

    def __init__(self, t, tool, tool_input, final_text):
        script = t.tmp / f"model-script-{rand_marker('s')}.json"
        script.write_text(json.dumps({"tool": tool, "input": tool_input,
                                      "final_text": final_text}))
        super().__init__(t, "model_server.py", ["--script", str(script)])

    def api_requests(self):
        return [r for r in self.requests() if r.get("api") and r.get("method") == "POST"]


class McpServer(LoopbackServer):
    def __init__(self, t):
        super().__init__(t, "mcp_server.py")
        self.url = f"https://127.0.0.1:{self.port}/mcp"

    def tool_calls(self, tool="volume_delete"):
        return [r for r in self.requests() if r.get("rpc") == "tools/call"
                and r.get("tool") == tool]


# ---------------------------------------------------------------- agents

class Workspace:
    """HOME, TMPDIR and the working directory of one agent run, owned by the
    user `agent` (the test's temp dir is not writable by it)."""

    def __init__(self, t, name):
        self.root = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=t.tmp))
        os.chmod(self.root, 0o755)
        self.home = self.root / "home"
        self.tmp = self.root / "tmp"
        self.work = self.root / "work"
        for d in (self.home, self.tmp, self.work):
            d.mkdir()
        self.pw = pwd.getpwnam(USER)

    def own(self):
        for dirpath, dirnames, filenames in os.walk(self.root):
            for n in [dirpath] + [os.path.join(dirpath, f) for f in dirnames + filenames]:
                if n != str(self.root):
                    os.lchown(n, self.pw.pw_uid, self.pw.pw_gid)

    def base_env(self):
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(self.home),
                "TMPDIR": str(self.tmp), "USER": USER, "LOGNAME": USER, "SHELL": "/bin/bash",
                "LANG": "C.UTF-8", "TERM": "dumb"}


class AgentRun:
    """What one run of an agent did: its Result (rc, stdout, stderr), its
    duration in seconds, and (in a session) the session id."""

    def __init__(self, result, seconds, session=None):
        self.result, self.seconds, self.session = result, seconds, session

    def __repr__(self):
        return f"{self.result!r} ({self.seconds:.1f}s)"


class Agent:
    """One agent: argv, environment and configuration files for a prompt."""

    name = "?"

    def __init__(self, t, model):
        self.t = t
        self.model = model
        self.mods = modules()
        self.ws = Workspace(t, self.name)
        self.ca = model.ca

    def argv(self, prompt):
        raise NotImplementedError

    def env(self):
        raise NotImplementedError

    def configure(self):
        """Write the agent's configuration files in its HOME."""

    def run(self, prompt, daemon=None, timeout=AGENT_TIMEOUT, scope="staging"):
        """Run the agent once, outside any session (as the user `agent`
        through setpriv) or, with a daemon, in a session `scopelock run
        --scope SCOPE --user agent`. Returns an AgentRun."""
        self.configure()
        self.ws.own()
        argv = self.argv(prompt)
        env = self.env()
        t0 = time.monotonic()
        if daemon is None:
            res = _run_outside(argv, env, self.ws.work, timeout)
            return AgentRun(res, time.monotonic() - t0)
        r = daemon.run(argv, scope=scope, user=USER, env=env, cwd=str(self.ws.work),
                       workspace=str(self.ws.work), timeout=timeout)
        secs = time.monotonic() - t0
        sid = daemon.finished_session(r, timeout=30)
        return AgentRun(r, secs, sid)


def _run_outside(argv, env, cwd, timeout):
    """argv as the user `agent` outside any session, in its own process group
    (killed by that id, ours, when it outlives timeout)."""
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    full = [setpriv, "--reuid", USER, "--regid", USER, "--init-groups", "--"] + argv
    p = subprocess.Popen(full, env=env, cwd=str(cwd), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate(timeout=30)
        return Result(-9, out.decode("utf-8", "replace"),
                      err.decode("utf-8", "replace")
                      + f"\n(killed: still running after {timeout}s)", argv=full)
    return Result(p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                  argv=full)


class ClaudeCode(Agent):
    """Claude Code's native executable (Bun; what `claude` runs once its
    postinstall copied it in place). Anthropic Messages API at
    ANTHROPIC_BASE_URL; CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 turns off
    telemetry, error reporting, the auto-updater and feature-flag fetches
    (without it, it connects to api.anthropic.com:443 whatever the base URL)."""

    name = "claude-code"
    shell_tool = "Bash"

    def __init__(self, t, model, mcp=None, mcp_headers=None):
        super().__init__(t, model)
        self.exe = self.mods / "@anthropic-ai" / "claude-code-linux-x64" / "claude"
        self.mcp = mcp
        self.mcp_headers = mcp_headers or {}
        self.mcp_config = self.ws.root / "mcp.json"

    def argv(self, prompt):
        a = [str(self.exe), "-p", prompt, "--permission-mode", "bypassPermissions"]
        if self.mcp:
            a += ["--mcp-config", str(self.mcp_config), "--strict-mcp-config",
                  "--allowedTools", "mcp__cloud__volume_delete"]
        return a

    def configure(self):
        if self.mcp:
            self.mcp_config.write_text(json.dumps({"mcpServers": {"cloud": {
                "type": "http", "url": self.mcp.url, "headers": self.mcp_headers}}}))

    def env(self):
        e = self.ws.base_env()
        e.update(ANTHROPIC_BASE_URL=self.model.url, ANTHROPIC_API_KEY="sk-ant-scopelock-test",
                 NODE_EXTRA_CA_CERTS=str(self.ca), CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
                 DISABLE_AUTOUPDATER="1", DISABLE_TELEMETRY="1", DISABLE_ERROR_REPORTING="1")
        return e


class Codex(Agent):
    """Codex's native executable (static musl Rust, rustls), `codex exec`,
    with a custom provider (OpenAI Responses API over SSE) that supports
    WebSockets: it first asks for a WebSocket (GET /v1/responses, Upgrade),
    as with the built-in OpenAI provider, which the scripted server refuses;
    Codex falls back to POST. Plugins, remote plugins, plugin sharing and
    analytics off (otherwise it runs `git ls-remote https://github.com/...`
    and connects to chatgpt.com, ab.chatgpt.com and api.github.com)."""

    name = "codex"
    shell_tool = "exec_command"

    def __init__(self, t, model, mcp=None, mcp_headers=None):
        super().__init__(t, model)
        self.exe = (self.mods / "@openai" / "codex-linux-x64" / "vendor" /
                    "x86_64-unknown-linux-musl" / "bin" / "codex")
        self.codex_home = self.ws.home / ".codex"
        self.mcp = mcp
        self.mcp_headers = mcp_headers or {}

    def argv(self, prompt):
        return [str(self.exe), "exec", "--skip-git-repo-check", prompt]

    def configure(self):
        self.codex_home.mkdir(exist_ok=True)
        (self.codex_home / "config.toml").write_text(f'''\
model = "gpt-5-codex"
model_provider = "scripted"
approval_policy = "never"
sandbox_mode = "danger-full-access"
check_for_update_on_startup = false

[model_providers.scripted]
name = "scripted model (scopelock tests)"
base_url = "{self.model.url}/v1"
env_key = "SCRIPTED_MODEL_KEY"
wire_api = "responses"
supports_websockets = true
request_max_retries = 1
stream_max_retries = 1

[features]
plugins = false
remote_plugin = false
plugin_sharing = false

[analytics]
enabled = false
''' + (self._mcp_toml() if self.mcp else ""))

    def _mcp_toml(self):
        """The MCP server over HTTPS (streamable HTTP), its headers"""
        hdrs = ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in self.mcp_headers.items())
        return (f'\n[mcp_servers.cloud]\nurl = "{self.mcp.url}"\n'
                f"http_headers = {{ {hdrs} }}\n")

    def env(self):
        e = self.ws.base_env()
        e.update(CODEX_HOME=str(self.codex_home), SCRIPTED_MODEL_KEY="sk-scopelock-test",
                 CODEX_CA_CERTIFICATE=str(self.ca))
        return e


class GeminiCli(Agent):
    """Gemini CLI on /usr/bin/node (OpenSSL with exported symbols). Settings:
    API-key auth, folder trust off, telemetry and usage statistics off (else
    it connects to play.googleapis.com:443), no auto-update."""

    name = "gemini-cli"
    shell_tool = "run_shell_command"

    def __init__(self, t, model, mcp=None, mcp_headers=None):
        super().__init__(t, model)
        need_binary("/usr/bin/node")
        self.script = self.mods / "@google" / "gemini-cli" / "bundle" / "gemini.js"
        self.mcp = mcp
        self.mcp_headers = mcp_headers or {}

    def argv(self, prompt):
        return ["/usr/bin/node", str(self.script), "-p", prompt, "--yolo"]

    def configure(self):
        d = self.ws.home / ".gemini"
        d.mkdir(exist_ok=True)
        (d / "settings.json").write_text(json.dumps({
            "security": {"auth": {"selectedType": "gemini-api-key"},
                         "folderTrust": {"enabled": False}},
            "privacy": {"usageStatisticsEnabled": False},
            "telemetry": {"enabled": False},
            "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
            # the MCP server over HTTPS (streamable HTTP), its tools run without asking
            **({"mcpServers": {"cloud": {"httpUrl": self.mcp.url, "headers": self.mcp_headers,
                                         "trust": True}}} if self.mcp else {}),
        }))

    def env(self):
        e = self.ws.base_env()
        e.update(GEMINI_API_KEY="scopelock-test-key", GOOGLE_GEMINI_BASE_URL=self.model.url,
                 GEMINI_CLI_TRUST_WORKSPACE="true", NODE_EXTRA_CA_CERTS=str(self.ca))
        return e


KINDS = {"claude": ClaudeCode, "codex": Codex, "gemini": GeminiCli}


# ---------------------------------------------------------------- one scripted round trip

class RoundTrip:
    """A prompt whose scripted answer makes the agent run one shell command
    with a side effect (it creates a file) and an output (a marker it
    echoes), then finish with a final text.

    The command execs two programs by absolute path (/usr/bin/touch,
    /usr/bin/echo) so that the audit log has their execs whatever shell the
    agent wraps the command in."""

    def __init__(self, t, kind):
        self.t = t
        self.kind = kind
        self.marker = rand_marker("agent")
        self.prompt = f"Run the check for ticket {self.marker} and report what it printed."
        self.final = f"final answer {self.marker}"
        self.out_marker = f"tool-output-{self.marker}"
        # the side effect: a file in a directory of its own that the agent
        # can write (the command is scripted before the agent's workspace
        # exists)
        self.effect_dir = Path(tempfile.mkdtemp(prefix="effect-", dir=t.tmp))
        os.chmod(self.effect_dir, 0o777)
        self.effect = self.effect_dir / f"side-effect-{self.marker}"
        self.command = f"/usr/bin/touch {self.effect} && /usr/bin/echo {self.out_marker}"
        cls = KINDS[kind]
        key = {"Bash": "command", "run_shell_command": "command", "exec_command": "cmd"}
        self.model = ModelServer(t, cls.shell_tool, {key[cls.shell_tool]: self.command},
                                 self.final)
        self.agent = cls(t, self.model)

    def run(self, daemon=None, **kw):
        self.last = self.agent.run(self.prompt, daemon=daemon, **kw)
        return self.last

    def check_completed(self, run):
        """The whole round trip happened: the agent's API request (with the
        prompt) reached the scripted model, the tool command ran (its side
        effect exists), the agent sent the command's output back, and it
        printed the final answer and exited 0."""
        reqs = self.model.api_requests()
        info = f"{run}\n{self.model.summary()}"
        check(any(self.marker.encode() in r["body"] for r in reqs),
              f"{self.agent.name}: no API request with the prompt reached the model\n{info}")
        calls = [r for r in reqs if r.get("answer") == "tool_call"]
        check(calls, f"{self.agent.name}: the model never answered with the tool call\n{info}")
        check(self.effect.exists(),
              f"{self.agent.name}: the tool command's side effect {self.effect} is missing\n"
              f"{info}")
        results = [r for r in reqs if r.get("tool_result") is not None]
        check(results, f"{self.agent.name}: the tool result never came back\n{info}")
        check(any(self.out_marker in r["tool_result"] for r in results),
              f"{self.agent.name}: the tool result does not carry the command's output "
              f"{self.out_marker!r}: {results[-1]['tool_result'][:500]!r}\n{info}")
        eq(run.result.rc, 0, f"{self.agent.name}: exit status ({info})")
        check(self.final in run.result.stdout,
              f"{self.agent.name}: the final answer is not in its output\n{info}")
        return reqs


# ---------------------------------------------------------------- audit log checks

LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


def check_loopback_only(d, sid, ports):
    """Every connect / udp_send of the session went to 127.0.0.1 or ::1 on
    one of `ports` (the test's servers): no DNS, no other host."""
    recs = d.records(session=sid)
    conns = [r for r in recs if r.get("type") in ("connect", "udp_send")]
    check(conns, f"no connect record in session {sid}\n{d.dump(session=sid)}")
    bad = [r for r in conns if r.get("addr") not in LOOPBACK or r.get("port") not in ports]
    check(not bad, "the session tried to reach something other than the test's servers "
          f"(ports {sorted(ports)}): " + "; ".join(short(r, 300) for r in bad[:10]))
    return conns


def exec_of(d, sid, path, arg):
    """The exec record of `path` whose argv contains `arg` in session sid."""
    from harness import B
    for r in d.records(session=sid, type="exec"):
        try:
            fname = B(r.get("filename"))
            args = [B(a) for a in r.get("argv") or []]
        except AssertionError:
            continue
        if fname == path.encode() and arg.encode() in args:
            return r
    return None


def tls_writes(d, sid):
    from harness import B
    out = []
    for r in d.records(session=sid, type="tls_write"):
        try:
            out.append((r, B(r.get("data"))))
        except AssertionError:
            continue
    return out


def check_request_captured(d, sid, request_line, needles, what):
    """A tls_write record of the session starts with an HTTP request line
    matching the bytes regex `request_line`, and that write together with
    the later writes of the same connection holds every needle (the prompt
    marker, ...): the request was captured before encryption. Returns the
    record."""
    import re
    writes = tls_writes(d, sid)
    rx = re.compile(request_line)
    heads = [(r, data) for r, data in writes if rx.match(data)]
    summary = "\n".join(f"  {r.get('comm')} {r.get('lib')}/{r.get('function')} len={r.get('len')}"
                        f" {data[:80]!r}" for r, data in writes[:30]) or "  (none)"
    check(heads, f"{what}: no tls_write record of session {sid} starts with "
          f"{request_line!r}; its tls_write records:\n{summary}")
    for r, data in heads:
        # the body may follow in later writes on the same connection
        same = b"".join(x for rr, x in writes if rr.get("conn") == r.get("conn")
                        and rr.get("pid") == r.get("pid") and rr["seq"] >= r["seq"])
        if all(n in same for n in needles):
            return r
    fail(f"{what}: no captured request matching {request_line!r} contains all of "
         f"{needles!r}:\n{summary}")


def mcp_delete_policy(t, prod_token, prod_vol, blind_tls=None):
    """production: the token (a registered secret) and the volume id; an MCP
    tools/call of a *_delete tool aimed outside the session's scope: kill.
    blind_tls: the staging scope's (docs/policy.md), else the default."""
    from enforce import policy_text, write_policy
    tok = t.write("prod-token", prod_token + "\n", 0o600)
    envs = {"production": {"secrets": [{"file": str(tok), "format": "raw"}],
                           "resources": [prod_vol]},
            "staging": {"resources": ["vol_staging_0000"]}}
    if blind_tls:
        envs["staging"]["blind_tls"] = blind_tls
    text = policy_text(envs, [], [{"name": "mcp-destroy-outside-scope", "channel": "tls",
                                   "pattern": "mcp_destroy", "target": "outside_scope",
                                   "action": "kill"}], settings={"syslog": False})
    # the JSON-RPC method, quoted as it is on the wire, and a *_delete tool
    text += "patterns:\n  mcp_destroy:\n    channel: tls\n    all: ['\"tools/call\"', _delete]\n"
    return write_policy(t, text)


def mcp_kill_case(t, kind, tool, blind_tls=None):
    """The incident through an agent's own MCP client: the scripted model asks
    for the MCP server's volume_delete (offered to it as `tool`) of a
    production volume, the MCP server's headers carry the production token (a
    registered secret). Control outside a session: the tools/call arrives,
    token and all. In a staging session (its scope's blind_tls as given): the
    alert of mcp-destroy-outside-scope says killed, target production, and
    nothing of it reaches the MCP server. Returns (daemon, run, alert, the
    tls_write records carrying the tools/call)."""
    import secrets

    from enforce import wait_alert
    private_netns(t)
    mcp = McpServer(t)
    vol = rand_marker("vol-prod")
    token = "prodtok_" + secrets.token_hex(16)
    hdrs = {"Authorization": f"Bearer {token}"}
    cls = KINDS[kind]
    model = ModelServer(t, tool, {"volume_id": vol}, "done")
    out = cls(t, model, mcp=mcp, mcp_headers=hdrs).run(f"Delete the volume {vol}.")
    calls = mcp.tool_calls()
    eq(len(calls), 1, f"control: tools/call at the MCP server ({out}\n{model.summary()}\n"
       f"{mcp.summary()})")
    eq(calls[0]["authorization"], f"Bearer {token}", "control: the token it carried")
    model2 = ModelServer(t, tool, {"volume_id": vol}, "done")
    d = t.daemon(policy=mcp_delete_policy(t, token, vol, blind_tls=blind_tls))
    run = cls(t, model2, mcp=mcp, mcp_headers=hdrs).run(f"Delete the volume {vol}.", daemon=d)
    info = f"{run}\n{model2.summary()}\n{mcp.summary()}"
    rec = wait_alert(d, run.session, "mcp-destroy-outside-scope")
    eq(rec.get("verdict"), "killed", f"verdict of {short(rec)}")
    check("production" in (rec.get("target_env") or []), f"target_env of {short(rec)}")
    d.wait_session_end(run.session)
    eq(len(mcp.tool_calls()), 1, "tools/call at the MCP server: the control's only (the "
       f"session's must not arrive) ({info})")
    w = [r for r, data in tls_writes(d, run.session)
         if b'"tools/call"' in data and vol.encode() in data]
    check(w, f"no tls_write record with the tools/call ({info})")
    check(run.result.rc != 0, f"the agent did not finish normally ({info})")
    print(f"  {cls.name} MCP volume_delete with the production token: killed in "
          f"{run.seconds:.1f}s; control arrived")
    return d, run, rec, w
