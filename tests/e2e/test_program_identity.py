# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Programs by the file that runs (the adversarial cases program_* show the
kills): a file of a program's size but other contents is stopped, compared
and let go (it runs, a `verdict` record says `released`, no alert); a copy
found to be the program once is known from then on (decided at exec, no
second comparison)."""

import shlex

from harness import check, eq, fail, short
from programs import RULE, Programs, q


def test_same_size_other_contents_released(t):
    p = Programs(t)
    data = p.railway.read_bytes()
    check(b"the real one" in data, "the marker string is in the binary")
    other = t.tmp / "elsewhere" / "tool"
    other.parent.mkdir()
    other.write_bytes(data.replace(b"the real one", b"the fake one"))
    other.chmod(0o755)
    eq(other.stat().st_size, p.railway.stat().st_size, "same size")
    lines = [f"{q(str(other))} " + " ".join(q(a) for a in p.destructive_args())]
    r, sid, marker = p.in_session(lines, "same size, other contents")
    eq(r.rc, 0, f"the other program's session ({r})")
    check(marker.exists() and "the fake one" in r.stdout,
          f"the other program did not run: {r}\n{p.d.dump(session=sid)}")
    recs = [x for x in p.d.records(session=sid, type="verdict") if x.get("identity")]
    eq(len(recs), 1, "verdict records with an identity\n" + p.d.dump(session=sid))
    rec = recs[0]
    eq(rec.get("verdict"), "released", f"verdict of {short(rec, 1200)}")
    eq(rec["identity"].get("same_contents"), False, f"identity of {short(rec, 1200)}")
    eq(p.d.records(session=sid, type="alert"), [], "alerts for the other program")
    # run again, unchanged: known to be no program, not stopped and compared again
    r, sid, marker = p.in_session(lines, "the released file again")
    eq(r.rc, 0, f"the released file, second run ({r})")
    eq([x for x in p.d.records(session=sid, type="verdict") if x.get("identity")], [],
       "the unchanged released file was held and compared again\n" + p.d.dump(session=sid))
    p.finish()


def test_copy_learnt_after_comparison(t):
    p = Programs(t)
    copy = t.tmp / "elsewhere" / "deploy-tool"
    copy.parent.mkdir()
    copy.write_bytes(p.railway.read_bytes())
    copy.chmod(0o755)
    lines = [f"{q(str(copy))} " + " ".join(q(a) for a in p.destructive_args())]
    first = p.killed(lines, "the copy, first run")
    eq((first.get("identity") or {}).get("program"), "railway", f"first: {short(first, 900)}")
    second = p.killed(lines, "the copy, second run")
    check(not second.get("identity"),
          f"the second run was compared again instead of known: {short(second, 900)}")
    p.finish()
