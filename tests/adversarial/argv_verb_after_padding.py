# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The destructive verb hidden after 17 KiB of padding in argv: the record
keeps the first 16 KiB, the kernel must still read the rest of argv (from the
new process's memory) before the program runs. `railway <17 KiB> volume
delete --volume <production volume>` from a staging session: killed before
it runs. Control: the same command outside a session runs."""

from clis import killed_case, outside_runs, setup
from enforce import finish
from harness import blocked, check

EXPECT = "BLOCKED"


def test_argv_verb_after_padding(t):
    w, bindir, d = setup(t)
    pad = "x" * (17 * 1024)
    argv = ["railway", pad, "volume", "delete", "--volume", w.prod_vol]
    outside_runs(t, bindir, "railway with 17 KiB of padding", argv)
    rec = killed_case(t, d, bindir, "the verb after 17 KiB of padding", argv, "railway")
    check("railway_destroy" in rec.get("patterns", []), f"patterns of {rec}")
    check(not rec.get("unreadable"), f"the argv was read whole (1 MiB limit): {rec}")
    finish(t, d, w)
    blocked(t, "killed before the program ran: argv past the 16 KiB record walked in the kernel")
