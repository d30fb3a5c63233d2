# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A file 4200 directories deep: deeper than the kernel walks for labels by
identity (4096 ancestors), so whether a labelled directory lies above it is
unknown. What could not be read is not "nothing": the open is judged by
settings.unreadable (here untainted, nothing partly matched: alert), and the
alert says the path could not be resolved. Control: a shallow file in the
same session raises no such alert."""

import subprocess

from enforce import policy_text, start_daemon, wait_alert, write_policy
from harness import PY, check, detected, eq, rand_marker, short

EXPECT = "DETECTED"
DEEP = r'''
import os, sys
os.chdir(sys.argv[1])
for i in range(4200):
    os.mkdir("d")
    os.chdir("d")
open("f", "w").write("x")
open(os.path.join(sys.argv[1], "shallow"), "w").write("x")
'''


def test_path_deeper_than_label_walk(t):
    top = t.tmp / "deep"
    top.mkdir()
    t.on_cleanup(lambda: subprocess.run(["/bin/rm", "-rf", str(top)], timeout=120))
    envs = {"production": {"paths": [str(t.tmp / "prod") + "/**"]}, "staging": {}}
    rules = [{"name": "open-outside-scope", "channel": "open", "target": "outside_scope",
              "action": "alert"}]
    d = start_daemon(t, write_policy(t, policy_text(envs, [], rules,
                                                    settings={"syslog": False})))
    script = t.write("deep.py", DEEP)
    name = rand_marker("deep")
    r = d.run([PY, str(script), str(top)], name=name, timeout=120)
    eq(r.rc, 0, f"the deep session ({r})")
    sid = d.finished_session(r)
    rec = wait_alert(d, sid, "unreadable-evidence")
    s = short(rec, 1500)
    eq(rec.get("channel"), "open", f"channel of {s}")
    check("path_unresolved" in (rec.get("unreadable") or []), f"unreadable of {s}")
    eq(rec.get("verdict"), "alert", f"verdict of {s}")
    ev = rec.get("evidence") or {}
    check(ev.get("path") and not str(ev["path"]).startswith(str(top)),
          f"the evidence is the tail of the path: {s}")
    shallow = [a for a in d.records(session=sid, type="alert")
               if "shallow" in str((a.get("evidence") or {}).get("path"))]
    eq(shallow, [], "alerts for the shallow file (control)")
    detected(t, "the open past the label walk is alerted as unresolved")
