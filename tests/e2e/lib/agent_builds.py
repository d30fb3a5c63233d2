# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The real AI coding agents the tests use, pinned here (one place), installed
from the npm registry into a cache outside the repository (the executables
are hundreds of MB): SL_AGENTS_CACHE, default /var/cache/scopelock-e2e-agents.
"""

import fcntl
import os
import subprocess
from pathlib import Path

from harness import check, need_binary

CLAUDE_PKG = "@anthropic-ai/claude-code-linux-x64"
# the version the agent tests drive, then older and newer builds whose TLS
# functions must be found too (Bun 1.3.13 .. 1.4.6)
CLAUDE_VERSIONS = ["2.1.197", "2.1.110", "2.1.335"]
# the platform build is published as a version of @openai/codex: the
# version the agent tests drive (rustls on aws-lc), an older one on aws-lc,
# and an older one whose rustls uses ring (not located: a blind spot)
CODEX_PKG = "@openai/codex"
CODEX_VERSION = "0.171.0-linux-x64"
CODEX_AWSLC_VERSIONS = [CODEX_VERSION, "0.140.0-linux-x64"]
CODEX_RING_VERSION = "0.99.0-linux-x64"

CACHE = Path(os.environ.get("SL_AGENTS_CACHE") or "/var/cache/scopelock-e2e-agents")


def npm_install(pkg, version):
    """The package directory of pkg@version, installed once into CACHE."""
    need_binary("/usr/bin/npm")
    d = CACHE / f"{pkg.replace('/', '_').replace('@', '')}-{version}"
    pdir = d / "node_modules" / pkg
    d.mkdir(parents=True, exist_ok=True)
    # tests running at once that need the same build install it once
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not pdir.is_dir():
            p = subprocess.run(["/usr/bin/npm", "install", "--no-audit", "--no-fund",
                                "--no-save", "--loglevel=error", f"{pkg}@{version}"], cwd=d,
                               capture_output=True, timeout=600, stdin=subprocess.DEVNULL)
            check(p.returncode == 0 and pdir.is_dir(),
                  f"npm install {pkg}@{version} failed: "
                  f"{p.stderr.decode(errors='replace')[-800:]}")
    return pdir


def claude(version):
    return npm_install(CLAUDE_PKG, version) / "claude"


def codex(version=CODEX_VERSION):
    pdir = npm_install(CODEX_PKG, version)
    vendor = pdir / "vendor" / "x86_64-unknown-linux-musl"
    # bin/codex (0.1xx), codex/codex (0.99)
    for exe in (vendor / "bin" / "codex", vendor / "codex" / "codex"):
        if exe.is_file():
            return exe
    check(False, f"no codex executable under {vendor} in {CODEX_PKG}@{version}")
