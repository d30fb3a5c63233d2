# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""What an installation carries besides the programs: the man pages
(generated from the programs' --help and docs/policy.md by tools/mkman.sh)
render without a warning and say what the programs say; `make install`
puts them and the shell completions where man, bash-completion and zsh
look; bash completes commands, options and, from a running daemon, session
ids; zsh loads its completion function."""

import os
import subprocess

from harness import REPO, check, eq, rand_marker, wait_until


def sh(argv, **kw):
    p = subprocess.run(argv, capture_output=True, timeout=120, stdin=subprocess.DEVNULL, **kw)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def test_man_pages_render(t):
    out = t.tmp / "man"
    rc, o, e = sh([str(REPO / "tools" / "mkman.sh"), str(out)])
    eq(rc, 0, f"tools/mkman.sh: {e}")
    for page, says in (("scopelock.1", ["checkpoint-setup", "--verification-key", "metrics",
                                        "123 if scopelock killed the session",
                                        "scopelock-policy(5)"]),
                       ("scopelockd.8", ["--checkpoint-key", "--no-checkpoints",
                                         "--rotate-size"]),
                       ("scopelock-policy.5", ["environments", "patterns", "rules"])):
        f = out / page
        rc, o, e = sh(["groff", "-k", "-man", "-Tutf8", "-ww", "-z", str(f)],
                      env=dict(os.environ, LC_ALL="C.UTF-8"))
        eq((rc, e.strip()), (0, ""), f"groff warnings for {page}")
        rc, text, e = sh(["man", "-l", "-Tutf8", str(f)], env=dict(os.environ, MANWIDTH="200"))
        eq(rc, 0, f"man -l {page}: {e}")
        text = subprocess.run(["col", "-b"], input=text.encode(), capture_output=True).stdout \
            .decode(errors="replace")
        for s in says:
            check(s in text, f"{page} does not say {s!r}")


def test_install_and_completion(t):
    dest = t.tmp / "root"
    # the default PREFIX: the programs the other tests run are not rebuilt
    rc, o, e = sh(["make", "-s", "-C", str(REPO), "install", f"DESTDIR={dest}"])
    eq(rc, 0, f"make install: {e[-2000:]}")
    prefix = str(dest) + "/usr/local"
    for rel in ("share/man/man1/scopelock.1", "share/man/man5/scopelock-policy.5",
                "share/man/man8/scopelockd.8", "share/bash-completion/completions/scopelock",
                "share/zsh/vendor-completions/_scopelock", "bin/scopelock", "sbin/scopelockd"):
        check(os.path.exists(os.path.join(prefix, rel)), f"make install did not install {rel}")
    bash_comp = os.path.join(prefix, "share/bash-completion/completions/scopelock")

    d = t.daemon()
    p = d.spawn(["/bin/sleep", "60"], name=rand_marker("comp"))
    sid = wait_until(lambda: d.session_id(p.name) if any(
        r.get("name") == p.name for r in d.records(type="session_start")) else None,
        30, "the session to start")

    def complete(line):
        words = line.split(" ")
        script = (
            "source /usr/share/bash-completion/bash_completion\n"
            f"source {bash_comp}\n"
            f"PATH={REPO / 'bin'}:$PATH\n"
            f"COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n"
            "COMP_WORDS=(" + " ".join(f"'{w}'" for w in words) + ")\n"
            f"COMP_CWORD={len(words) - 1}\n"
            "_scopelock\n"
            "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
        rc, o, e = sh(["bash", "-c", script])
        eq(rc, 0, f"bash completion of {line!r}: {e}")
        return o.split()

    check("run" in complete("scopelock ru"), "commands")
    eq(complete("scopelock verify --chec"), ["--checkpoints"], "verify options")
    eq(complete("scopelock checkpoint-setup --fo"), ["--force"], "checkpoint-setup options")
    check(sid in complete(f"scopelock --socket {d.sock} end "),
          f"end completes the running session {sid}")
    check("check" in complete("scopelock policy "), "policy subcommands")
    p.kill()

    zdir = os.path.dirname(os.path.join(prefix, "share/zsh/vendor-completions/_scopelock"))
    rc, o, e = sh(["zsh", "-fc", f"fpath=({zdir} $fpath); autoload -Uz compinit; "
                   f"compinit -u -d {t.tmp}/zcompdump; print -r -- $_comps[scopelock]"])
    eq((rc, o.strip()), (0, "_scopelock"), f"zsh completion for scopelock: {e}")
