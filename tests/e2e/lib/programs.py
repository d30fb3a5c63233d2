# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Programs by the file that runs: a fake `railway` CLI, compiled (an ELF
executable) and as a shell script, in a program directory the policy names
(settings.program_paths); each writes its arguments to $MARKER as its first
action, so a killed exec never writes it. The policy has the default's
railway_destroy pattern and rule destroy-cli (exec, outside_scope, kill).
Helpers run a command outside a session (the control) and in a session."""

import os
import shlex
import subprocess

from enforce import World, agent_script, finish, policy_text, start_daemon, wait_alert, write_policy
from harness import PY, check, eq, fail, rand_marker, short

q = shlex.quote
RULE = "destroy-cli"

RAILWAY_C = r'''
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv)
{
	const char *m = getenv("MARKER");
	FILE *f = m ? fopen(m, "w") : NULL;

	for (int i = 1; f && i < argc; i++)
		fprintf(f, "%s ", argv[i]);
	if (f)
		fclose(f);
	puts("railway ran: the real one");
	return 0;
}
'''
RAILWAY_SH = '#!/bin/sh\nprintf "%s " "$@" > "$MARKER"\necho railway ran: the real one\n'

# exec a copy of a file from a memfd (fexecve): argv[0] ... argv
MEMFD_EXEC = r'''
import os, sys
src, argv = sys.argv[1], sys.argv[2:]
fd = os.memfd_create("tool", 0)  # not close-on-exec: a script's interpreter opens it
os.write(fd, open(src, "rb").read())
os.execve(fd, argv, os.environ)
'''


class Programs:
    def __init__(self, t, script=False):
        self.t = t
        self.w = World(t)
        self.pdir = t.tmp / "programs"
        self.pdir.mkdir()
        self.railway = self.pdir / "railway"
        if script:
            t.write("programs/railway", RAILWAY_SH, 0o755)
        else:
            src = t.write("railway.c", RAILWAY_C)
            p = subprocess.run(["gcc", "-O2", "-o", str(self.railway), str(src)],
                               capture_output=True, timeout=120)
            check(p.returncode == 0, f"gcc: {p.stderr.decode(errors='replace')}")
        envs = self.w.envs()
        rules = [{"name": RULE, "channel": "exec", "pattern": "railway_destroy",
                  "target": "outside_scope", "action": "kill"}]
        pol = policy_text(envs, ["railway_destroy"], rules,
                          settings={"syslog": False, "program_paths": [str(self.pdir)]})
        self.d = start_daemon(t, write_policy(t, pol))
        self.memfd = t.write("memfd_exec.py", MEMFD_EXEC)

    def env(self, marker):
        env = dict(os.environ)
        env["PATH"] = f"{self.t.tmp / 'elsewhere'}:/usr/bin:/bin"
        env["MARKER"] = str(marker)
        return env

    def destructive_args(self):
        return ["volume", "delete", "--volume", self.w.prod_vol]

    def outside_runs(self, lines, what):
        marker = self.t.tmp / f"marker-{rand_marker()}"
        r = self.t.outside(["/bin/bash", "-c", "\n".join(lines)], env=self.env(marker))
        eq(r.rc, 0, f"{what} outside a session ({r})")
        check(marker.exists(), f"{what} outside a session: the program did not run")

    def in_session(self, lines, what):
        """Run the lines as a bash agent; returns (result, session id, marker)."""
        marker = self.t.tmp / f"marker-{rand_marker()}"
        name = rand_marker("agent")
        r = self.d.run(agent_script(self.t, f"agent-{name}", lines, expect_killed=False),
                       name=name, env=self.env(marker), timeout=90)
        sid = self.d.session_id(name)
        self.d.wait_session_end(sid, timeout=30)
        return r, sid, marker

    def killed(self, lines, what):
        r, sid, marker = self.in_session(lines, what)
        dump = self.d.dump(session=sid, types=("exec", "alert", "verdict", "session_killed"))
        if marker.exists():
            fail(f"{what}: the program ran (marker {marker.read_text()[:200]!r})\n{dump}")
        check(r.rc != 0, f"{what}: the session ended well ({r})\n{dump}")
        rec = wait_alert(self.d, sid, RULE)
        eq(rec.get("verdict"), "killed", f"{what}: verdict of {short(rec, 1500)}")
        check("railway_destroy" in (rec.get("patterns") or []), f"patterns of {short(rec)}")
        return rec

    def finish(self):
        self.w.secrets = []
        finish(self.t, self.d, self.w)
