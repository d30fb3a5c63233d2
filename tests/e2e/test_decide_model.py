# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The kernel's decisions against the decision model (include/scopelock_decide.h
and the reference sl_policy_decide), on generated cases: tests/kernel/
test_decide_kernel runs the real in-kernel matcher (bpf/match.bpf.h) as a
BPF_PROG_TYPE_SYSCALL program on the real policy maps, and compares every
field of each decision (keywords and labels seen, patterns, target class and
environments, deciding rule, action, monitor) with the reference."""

import re
import subprocess

from harness import REPO, check, fail, rand_marker
from enforce import policy_text, write_policy

BIN = REPO / ".output" / "tests" / "test_decide_kernel"


def run_model(policies, cases=20000):
    check(BIN.exists(), f"{BIN} is missing: build it with `make` (target ktest)")
    p = subprocess.run([str(BIN), "-n", str(cases)] + [str(x) for x in policies],
                       capture_output=True, timeout=300, stdin=subprocess.DEVNULL)
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    if p.returncode != 0:
        fail(f"test_decide_kernel exited {p.returncode}:\n{out[-4000:]}")
    check(" 0 mismatches" in out, f"no mismatch line in the output:\n{out}")
    return out


def test_kernel_decisions_match_model_default_policy(t):
    run_model([REPO / "policies" / "default.yaml"])


def test_kernel_decisions_match_model_labels_and_precedence(t):
    """Three environments with secrets, resource ids, host and path labels;
    monitor, in-scope and any-target rules competing on the same patterns."""
    prod_tok = "prodtok_" + rand_marker("x")
    stg_tok = "stgtok_" + rand_marker("y")
    t.write("secrets/prod.env", f"API_TOKEN={prod_tok}\n", 0o600)
    t.write("secrets/stg.env", f"API_TOKEN={stg_tok}\n", 0o600)
    envs = {
        "production": {"paths": [str(t.tmp / "prod") + "/**", "/etc/prod.conf"],
                       "hosts": ["api.prod.example.com", "*.prod.example.com", "10.1.0.0/16"],
                       "secrets": [{"file": str(t.tmp / "secrets/prod.env")}],
                       "resources": ["vol_prod_0001", "db-prod-main"]},
        "staging": {"paths": [str(t.tmp / "stg") + "/**"],
                    "hosts": ["*.staging.example.com"],
                    "secrets": [{"file": str(t.tmp / "secrets/stg.env")}],
                    "resources": ["vol_stg_0001"]},
        "development": {"paths": [str(t.tmp / "dev") + "/**"], "resources": ["vol_dev_0001"]},
    }
    pats = ["graphql_destroy", "http_delete", "sql_drop", "sql_delete_all", "railway_destroy",
            "rm_recursive", "git_force_push_protected", "redis_flush"]
    rules = [
        {"name": "trial-any", "channel": "tls", "pattern": ["graphql_destroy", "sql_drop"],
         "target": "any", "action": "kill", "monitor": True},
        {"name": "api-outside", "channel": "tls", "pattern": ["graphql_destroy", "http_delete"],
         "target": "outside_scope", "action": "freeze"},
        {"name": "api-in-scope", "channel": "tls", "pattern": ["sql_drop", "redis_flush"],
         "target": "in_scope", "action": "alert"},
        {"name": "api-unknown", "channel": "tls", "pattern": ["graphql_destroy", "sql_delete_all"],
         "target": "unknown", "action": "log"},
        {"name": "cli-outside", "channel": "exec", "pattern": ["railway_destroy", "rm_recursive"],
         "target": "outside_scope", "action": "kill"},
        {"name": "cli-any", "channel": "exec", "pattern": "git_force_push_protected",
         "target": "any", "action": "freeze"},
        {"name": "cli-in-scope-trial", "channel": "exec", "pattern": "rm_recursive",
         "target": ["in_scope", "unknown"], "action": "alert", "monitor": True},
        {"name": "cli-evidence-only", "channel": "exec", "pattern": "rm_recursive",
         "target": ["outside_scope", "unknown"], "action": "freeze", "taint": False},
        {"name": "api-evidence-only", "channel": "tls", "pattern": "redis_flush",
         "target": ["outside_scope", "unknown"], "action": "kill", "taint": False},
        {"name": "connect", "channel": "connect", "target": "outside_scope", "action": "deny"},
        {"name": "open", "channel": "open", "target": ["outside_scope", "in_scope"],
         "action": "log"},
    ]
    pol = write_policy(t, policy_text(envs, pats, rules, settings={"syslog": False}))
    run_model([pol])


def test_kernel_glob_walk_matches_model(t):
    """The open program's walk of the wildcard-glob automaton (in the kernel,
    sl_label_glob) against the user-space walk of the same tables and the
    reference sl_policy_glob_match, on paths made from the globs (wildcards
    filled in, a byte inserted now and then) and noise: every label agrees."""
    envs = {
        "production": {"paths": ["/home/*/.config/prod/*.json", "/srv/prod-?/secrets.env",
                                 "/etc/app/[pq]rod.yaml", "/etc/prod-[!0-9].conf",
                                 "/a/**/key.pem", "/m/*a*b*c*", "/c/[]a-]x", "/x/\\*lit",
                                 "/srv/prod/**"]},
        "staging": {"paths": ["/home/*/.config/staging/**", "/**/*.stg", "/n/??/*",
                              "/etc/app/[pq]rod.yaml"]},
    }
    rules = [{"name": "open-outside", "channel": "open", "target": "outside_scope",
              "action": "alert"}]
    p = write_policy(t, policy_text(envs, [], rules))
    out = run_model([p], cases=20000)
    m = re.search(r"wildcard globs: 20000 paths, (\d+) labelled, 0 mismatches", out)
    check(m, f"no glob comparison in the output:\n{out}")
    # paths both inside and outside the globs, or the comparison proves little
    check(2000 < int(m.group(1)) < 18000, f"labelled paths: {m.group(1)} of 20000\n{out}")
