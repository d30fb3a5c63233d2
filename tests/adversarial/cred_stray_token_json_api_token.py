# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The stray token is in a JSON file outside the workspace under the key
"api_token" (no known token format: found as the value of a secret-named
key). The agent reads it with a JSON parser and sends the mutation with it:
held. Control: outside a session the same request arrives."""

import json
import shlex

from credworld import CredWorld, held_then_denied, outside_arrives, run_incident, start
from enforce import finish
from harness import PY, blocked

EXPECT = "BLOCKED"
q = shlex.quote


def test_cred_stray_token_json_api_token(t):
    w = CredWorld(t)
    cfg = t.write("home/dev/old-scripts/domains.json",
                  json.dumps({"provider": "railway", "scope": "account",
                              "api_token": w.root_token}, indent=2) + "\n", 0o600)
    srv, d = start(t, w)
    get = f"import json,sys; print(json.load(open(sys.argv[1]))['api_token'])"
    read = [f"TOKEN=$({PY} -c {q(get)} {q(str(cfg))})"]
    p, sid, found, _ = run_incident(t, d, w, srv, read, w.root_token, cfg)
    assert found.get("key") == "api_token", found
    held_then_denied(t, d, w, srv, p, sid, w.root_token, cfg)
    outside_arrives(t, srv, w, w.root_token)
    finish(t, d, w)
    blocked(t, "a token under \"api_token\" in a JSON file outside the workspace is foreign")
