# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""Path labels with wildcards inside a component are decided in the kernel at
the open (issue 10), not by the daemon after the fact.

The policy labels production only by a glob with a wildcard inside a
component (`.../home/*/.config/prod/*.json`); no exact or directory label,
and no identity, names the file. A staging session opens a matching file
and, in the same process with no wait, writes a destructive request
(`DELETE /v1/volumes/<staging volume>`) on a TLS connection it opened
before: the write's
target is staging unless the session's taint says production, so only a
taint the kernel knew at SSL_write stops it. The request never reaches the
server, the session is killed, the alert says the kernel's verdict with the
taint production, and the open record carries the label without
`labelled_by`. Controls: the same with a file the glob does not label (the
request arrives) and outside a session (it arrives).

Also: a policy whose globs need more DFA states than the kernel holds is
refused with the file, line, field and glob; a path the kernel cannot walk
whole (70 components) carries the environments of the globs that can match
a path that deep (fail closed), not of the others, across a policy reload.
"""

import os

from globcase import GlobWorld, run_arrives, run_killed, run_outside, start
from enforce import finish, policy_check, policy_text, start_daemon, write_policy
from harness import PY, B, check, eq, rand_marker


def test_glob_label_taint_decided_at_open(t):
    w = GlobWorld(t, "home/*/.config/prod/*.json", "home/dev/.config/prod/db.json",
                  "home/dev/.config/prod/db.yaml")
    d, srv = start(t, w)
    # control: outside a session the request arrives
    run_outside(t, w, srv, w.prod_file, "outside a session")
    # control: a file the glob does not label (not *.json): the request arrives
    run_arrives(t, w, d, srv, w.other_file, "unlabelled file")
    # the glob-labelled file, then the request at once: killed at the write
    run_killed(t, w, d, srv, w.prod_file, "glob-labelled file")
    finish(t, d, None)


def test_glob_label_state_bound_refused(t):
    text = ("version: 1\nenvironments:\n  production:\n    paths:\n"
            "      - /srv/prod/**\n"
            "      - /srv/x/*a??????????????\n")
    p = write_policy(t, text, "glob-bound.yaml")
    r = policy_check(p)
    eq(r.rc, 1, f"scopelock policy check of a policy past the glob bound ({r})")
    out = r.stdout + r.stderr
    for said in (f"{p}:6:", "environments.production.paths[1]", "/srv/x/*a??????????????",
                 "more than 4096 DFA states"):
        check(said in out, f"policy check does not say {said!r}: {out!r}")


def deep_dir(base, n):
    d = base
    for i in range(n):
        d = d / f"d{i}"
    d.mkdir(parents=True)
    return d


def labels_of_opens(t, d, files, cwd):
    """A session opens files (relative to cwd: no path string is too long);
    returns {file: (env, path_partial)} of their open records."""
    script = t.write("open_files.py", "import os, sys\nos.chdir(sys.argv[1])\n"
                     "for f in sys.argv[2:]:\n    os.close(os.open(f, os.O_RDONLY))\n")
    name = rand_marker("deep")
    r = d.run([PY, str(script), str(cwd)] + [str(os.path.relpath(f, cwd)) for f in files],
              name=name, timeout=60)
    eq(r.rc, 0, f"the session opening {len(files)} files ({r})")
    sid = d.finished_session(r)
    out = {}
    for f in files:
        tail = f"/{f.name}".encode()
        recs = [x for x in d.records(session=sid, type="open")
                if B(x.get("requested") or "") == str(os.path.relpath(f, cwd)).encode()
                and B(x.get("path") or "").endswith(tail)]
        check(recs, f"no open record of {f}\n" + d.dump(session=sid, types=("open",)))
        out[f] = (recs[0].get("env") or [], bool(recs[0].get("path_partial")))
    return out


def test_glob_label_path_past_walk_and_reload(t):
    """A path the kernel cannot walk whole (70 components: it records the
    tail) may be one a glob with '**' names: the open carries that glob's
    environment whatever the tail says (fail closed). A glob that cannot
    match a path that deep (no '**', few components) does not label it.
    Between the two, the policy is reloaded: the glob tables follow the slot
    in force."""
    base = t.tmp / "deep"
    deep = deep_dir(base, 70)
    cut = t.write(str((deep / "notes.txt").relative_to(t.tmp)), "nothing\n")
    short_hit = t.write("deep/a/x.key", "k\n")
    short_miss = t.write("deep/a/y.txt", "y\n")
    envs = {"production": {"paths": [f"{base}/**/x.key"]},
            "staging": {"paths": [f"{t.tmp}/home/dev/shop/**"]}}
    p = write_policy(t, policy_text(envs, [], [], settings={"syslog": False}))
    d = start_daemon(t, p)
    got = labels_of_opens(t, d, [cut, short_hit, short_miss], t.tmp)
    eq(got[cut], (["production"], True),
       "the 70-deep file (walk cut, glob with '**'): labels, path_partial")
    eq(got[short_hit], (["production"], False), "deep/a/x.key: labels, path_partial")
    eq(got[short_miss], ([], False), "deep/a/y.txt: labels, path_partial")
    # a glob that cannot reach that deep: the cut path is not labelled
    envs["production"]["paths"] = [f"{base}/*/x.key"]
    write_policy(t, policy_text(envs, [], [], settings={"syslog": False}))
    r = d.cli("policy", "reload")
    eq(r.rc, 0, f"policy reload ({r})")
    got = labels_of_opens(t, d, [cut, short_hit, short_miss], t.tmp)
    eq(got[cut], ([], True), "after the reload, the 70-deep file: labels, path_partial")
    eq(got[short_hit], (["production"], False), "after the reload, deep/a/x.key")
    eq(got[short_miss], ([], False), "after the reload, deep/a/y.txt")
    finish(t, d, None)


def test_glob_label_hardlink_by_identity(t):
    """A file a wildcard glob (without '**') names is labelled by identity
    too: a hard link to it elsewhere, whose path no label matches, is
    production. Control: a copy of it (another inode) is not."""
    w = GlobWorld(t, "home/*/.config/prod/*.json", "home/dev/.config/prod/db.json",
                  "home/dev/.config/prod/db.yaml")
    copy = t.write("elsewhere/db-copy.txt", w.prod_file.read_bytes())
    link = copy.parent / "db-link.txt"
    os.link(w.prod_file, link)
    d = start_daemon(t, w.policy)
    got = labels_of_opens(t, d, [link, copy], copy.parent)
    eq(got[link], (["production"], False), "the hard link: labels")
    eq(got[copy], ([], False), "the copy: labels")
    finish(t, d, None)
