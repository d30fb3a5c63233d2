# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Helper of the adversarial TLS cases with native clients (not a case): the
incident's world and GraphQL server, the production mutation in a body file,
the control outside a session, and a bash agent in a staging session that
reads the production token and runs the client (`pre` shell lines before,
`cmd`: the client call, CLIENT standing for the command line)."""

import os
import shlex

from enforce import GraphQLServer, World, start_daemon, tls_policy, write_policy
from harness import check, eq, rand_marker, wait_until

q = shlex.quote


class Case:
    def __init__(self, t, exe, policy=None):
        self.t = t
        self.w = World(t)
        self.srv = GraphQLServer(t)
        self.exe = exe
        self.body = t.write("body.json", self.w.mutation(self.w.prod_vol))
        self.argv = [str(exe), self.srv.url, str(self.body), str(self.srv.cert)]
        self.policy = policy or write_policy(t, tls_policy(self.w))

    def control(self):
        """Outside a session the mutation arrives, token and all."""
        mark = self.srv.mark()
        r = self.t.outside(self.argv, env=dict(os.environ, API_TOKEN=self.w.prod_token))
        eq(r.rc, 0, f"control: the client outside a session ({r})")
        # the client may exit before the server has logged what it read (a
        # client that does not wait for the response): wait for it, bounded
        got = wait_until(lambda: [x for x in self.srv.requests(mark)
                                  if b"volumeDelete" in x["body"]],
                         15, "control: the mutation outside a session", interval=0.05)
        check(got, f"control: the mutation did not arrive outside a session (the client: "
              f"{r})\n{self.srv.summary()}")

    def run(self, cmd="CLIENT", pre=()):
        """The agent in a staging session; returns (daemon, result, sid, mark)."""
        d = start_daemon(self.t, self.policy)
        mark = self.srv.mark()
        client = " ".join(q(a) for a in self.argv)
        lines = ["set -u", f"cd {q(str(self.w.shop))}",
                 f"export API_TOKEN=$(cat {q(str(self.w.prod_file))})", *pre,
                 cmd.replace("CLIENT", client), "rc=$?", "echo \"client exited $rc\" >&2",
                 "exit $rc"]
        script = self.t.write("agent.sh", "#!/bin/bash\n" + "\n".join(lines) + "\n", 0o755)
        name = rand_marker("agent")
        r = d.run(["/bin/bash", str(script)], name=name, timeout=90)
        return d, r, d.session_id(name), mark
