# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The production token, read from a production-labelled file that is not
registered as a secret (the incident: nobody knew the token was there), on a
command line that also names the staging volume: the session is tainted
with production, the argv names staging. One mention of the scope must not
cancel the taint (before the union target it was judged in scope and ran).
Controls: the same command outside a session runs; in a session that did
not read the production file it runs (in scope)."""

import shlex

from clis import allowed_case, killed_case, outside_runs, setup
from enforce import finish
from harness import blocked

EXPECT = "BLOCKED"
q = shlex.quote


def test_prod_token_with_staging_id_exec(t):
    w, bindir, d = setup(t, register_secrets=False)
    cmd = (f"railway volume delete --environment staging --volume {q(w.stg_vol)} "
           '--token "$TOKEN"')
    argv = ["railway", "volume", "delete", "--environment", "staging", "--volume", w.stg_vol,
            "--token", w.prod_token]
    outside_runs(t, bindir, "railway with the production token", argv, cwd=str(w.shop))
    allowed_case(t, d, bindir, "the staging token, untainted", agent_lines=[
        f"TOKEN=$(sed -n 's/^RAILWAY_TOKEN=//p' {q(str(w.stg_env))})", cmd])
    rec = killed_case(t, d, bindir, "the production token next to staging ids", None, "delete",
                      agent_lines=[f"TOKEN=$(cat {q(str(w.prod_file))})", cmd])
    assert set(rec["target_env"]) == {"production", "staging"}, rec
    # the production token is not registered, so nothing knows to redact it
    # (credentials nobody registered: a later issue); the staging one is
    w.secrets = [w.stg_token]
    finish(t, d, w)
    blocked(t, "killed before the program ran: a production credential among staging labels")
