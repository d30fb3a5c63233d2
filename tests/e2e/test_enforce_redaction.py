# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Secret values never reach a file scopelock writes: a secret registered by
value (a file) and one registered only by its SHA-256 fingerprint, both passed
on a session's command line (so they are in session_start and exec records),
are replaced by their fingerprints; the records say which secrets they
carried. Nothing is enforced here: the policy has no rules."""

import hashlib
import secrets

from enforce import assert_no_secrets, policy_text, start_daemon, verify_chain, write_policy
from harness import check, eq


def test_enforce_secrets_redacted_value_and_fingerprint(t):
    by_value = "valtok_" + secrets.token_hex(16)
    by_fp = "fptok_" + secrets.token_hex(16)
    tok_file = t.write("prod/token", by_value + "\n", 0o600)
    fp = hashlib.sha256(by_fp.encode()).hexdigest()
    envs = {
        "production": {"secrets": [{"file": str(tok_file), "format": "raw"},
                                   {"fingerprint": "sha256:" + fp}]},
        "staging": {},
    }
    d = start_daemon(t, write_policy(t, policy_text(envs, {}, [])))
    r = d.run(["/bin/echo", f"Authorization: Bearer {by_value}", f"token={by_fp}"])
    eq(r.rc, 0, f"session exit status ({r})")
    sid = d.session_id(r.name)
    start = d.session_start(sid)
    execs = [x for x in d.records(session=sid, type="exec") if x.get("comm") == "echo"]
    eq(len(execs), 1, "exec records of echo")
    for rec, what in ((start, "session_start"), (execs[0], "exec")):
        fps = sorted({s.get("fingerprint", "")[:23] for s in rec.get("secrets", [])})
        eq(fps, sorted({"sha256:" + fp[:16],
                        "sha256:" + hashlib.sha256(by_value.encode()).hexdigest()[:16]}),
           f"fingerprints of the secrets listed in the {what} record")
        check(all(s.get("env") == "production" for s in rec["secrets"]),
              f"{what} record: every secret labelled production: {rec['secrets']}")
    eq(d.stop(), 0, "scopelockd exit status on SIGTERM")
    verify_chain(d)
    assert_no_secrets(t, d, [by_value, by_fp])
