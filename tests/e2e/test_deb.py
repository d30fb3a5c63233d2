# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The Debian package (`make deb`, debian/): it builds, lintian has nothing
to say past its justified override (tools/mkdeb.sh fails on errors and
warnings), it holds what an install needs, and it installs, upgrades, is
removed and purged cleanly in a fresh Debian 12 root made by debootstrap.

The root is made once per set of runtime dependencies and cached as a
tarball under /var/cache/scopelock-tests (debootstrap needs the Debian
mirror the machine's apt uses; without it the test fails and says so). Each
run unpacks a fresh copy."""

import hashlib
import os
import re
import subprocess

from harness import REPO, check, eq, fail

CACHE = "/var/cache/scopelock-tests"
SUITE = "bookworm"
IGNORED = ("var/lib/dpkg/", "var/log/", "var/cache/", "tmp/", "var/lib/systemd/deb-systemd",
           "run/", "proc/", "dev/")


def mirror():
    """The Debian mirror this machine's apt uses (deb822 or one-line sources)."""
    for path in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"):
        try:
            text = open(path).read()
        except OSError:
            continue
        m = re.search(r"^URIs:\s*(\S+)", text, re.M) or \
            re.search(r"^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", text, re.M)
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def build_deb(t):
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck")
    p = subprocess.run(["make", "-s", "-C", str(REPO), "deb"], capture_output=True, text=True,
                       env=env, timeout=1200)
    eq(p.returncode, 0, f"make deb (lintian included): {p.stdout[-3000:]}{p.stderr[-3000:]}")
    deb = p.stdout.strip().splitlines()[-1]
    check(deb.endswith("_amd64.deb") and os.path.exists(deb), f"the .deb: {deb!r}")
    return deb


def base_root(t, deb):
    """A cached minbase root with the package's runtime dependencies."""
    depends = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], capture_output=True,
                             text=True, check=True).stdout
    pkgs = sorted({re.sub(r"\s*\(.*\)", "", d).split("|")[0].strip()
                   for d in depends.split(",") if d.strip()} | {"init-system-helpers"})
    key = hashlib.sha256((SUITE + " " + " ".join(pkgs)).encode()).hexdigest()[:16]
    tarball = os.path.join(CACHE, f"{SUITE}-minbase-{key}.tar")
    if os.path.exists(tarball):
        return tarball
    os.makedirs(CACHE, exist_ok=True)
    root = t.tmp / "debootstrap"
    p = subprocess.run(["debootstrap", "--variant=minbase", "--include=" + ",".join(pkgs), SUITE,
                        str(root), mirror()], capture_output=True, text=True, timeout=1200)
    if p.returncode:
        fail(f"debootstrap {SUITE} from {mirror()} failed (it needs that mirror: no network?)."
             f" The package itself was built and checked with lintian; the install test "
             f"could not run:\n{p.stdout[-1500:]}{p.stderr[-1500:]}")
    tmp = tarball + ".tmp"
    subprocess.run(["tar", "-C", str(root), "-cf", tmp, "."], check=True)
    os.replace(tmp, tarball)
    subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=True)
    return tarball


def files(root):
    out = set()
    for d, dirs, fs in os.walk(root):
        rel = os.path.relpath(d, root)
        rel = "" if rel == "." else rel + "/"
        if rel.startswith(IGNORED):
            continue
        out.update(rel + f for f in fs)
        out.update(rel + x + "/" for x in dirs)
    return {f for f in out if not f.startswith(IGNORED)}


def chroot(root, *argv):
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
           "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(["chroot", str(root), *argv], capture_output=True, text=True,
                          env=env, timeout=300)


def test_deb_builds_installs_and_purges(t):
    deb = build_deb(t)
    names = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                           check=True).stdout
    for f in ("./usr/sbin/scopelockd", "./usr/bin/scopelock", "./usr/libexec/scopelock/scopelock-proxy",
              "./lib/systemd/system/scopelockd.service",
              "./usr/share/man/man1/scopelock.1.gz", "./usr/share/man/man5/scopelock-policy.5.gz",
              "./usr/share/man/man8/scopelockd.8.gz",
              "./usr/share/bash-completion/completions/scopelock",
              "./usr/share/zsh/vendor-completions/_scopelock",
              "./usr/share/scopelock/policies/default.yaml",
              "./usr/share/scopelock/site-policy.yaml", "./usr/share/doc/scopelock/copyright"):
        check(f" {f}\n" in names + "\n", f"the package holds {f}")
    check("./etc/" not in names, "the package ships nothing in /etc (postinst creates the "
          f"site policy): {[x for x in names.splitlines() if './etc/' in x]}")

    tarball = base_root(t, deb)
    root = t.tmp / "root"
    root.mkdir()
    t.on_cleanup(lambda: subprocess.run(["rm", "-rf", "--one-file-system", str(root)]))
    subprocess.run(["tar", "-C", str(root), "-xf", tarball], check=True)
    before = files(root)
    check("usr/sbin/scopelockd" not in before, "a fresh root")
    subprocess.run(["cp", deb, str(root / "tmp" / "scopelock.deb")], check=True)

    # install: the site policy created, the daemon neither enabled nor started, and it says so
    r = chroot(root, "dpkg", "-i", "/tmp/scopelock.deb")
    eq(r.returncode, 0, f"dpkg -i in the fresh root: {r.stdout}{r.stderr}")
    check("NOT enabled and NOT started" in r.stdout and "systemctl enable --now scopelockd"
          in r.stdout, f"postinst says the daemon is not started and how: {r.stdout}")
    site = root / "etc/scopelock/policy.yaml"
    eq(site.read_text(), (REPO / "dist" / "policy.yaml").read_text(),
       "/etc/scopelock/policy.yaml is the site template")
    check((root / "etc/scopelock/policy.d").is_dir(), "/etc/scopelock/policy.d")
    check(not (root / "etc/systemd/system/multi-user.target.wants/scopelockd.service").exists(),
          "the unit is not enabled")
    unit = (root / "lib/systemd/system/scopelockd.service").read_text()
    check("ExecStart=/usr/sbin/scopelockd --policy /etc/scopelock/policy.yaml" in unit,
          "the unit runs the site policy")
    # the binaries run with the root's libraries; the site policy builds on the shipped one
    eq(chroot(root, "scopelockd", "--version").returncode, 0, "scopelockd --version")
    r = chroot(root, "scopelock", "policy", "check", "/etc/scopelock/policy.yaml")
    eq(r.returncode, 0, f"policy check of the installed site policy: {r.stdout}{r.stderr}")
    check("2 files merged" in r.stdout, f"extends: shipped found /usr/share: {r.stdout}")

    # upgrade (the same version again): the site's edit stays
    edited = site.read_text() + "settings:\n  hold_timeout: 7m\n"
    site.write_text(edited)
    r = chroot(root, "dpkg", "-i", "/tmp/scopelock.deb")
    eq(r.returncode, 0, f"dpkg -i again: {r.stdout}{r.stderr}")
    eq(site.read_text(), edited, "the site's policy is never overwritten")

    # remove keeps the site's configuration; purge leaves the root as it was
    r = chroot(root, "dpkg", "-r", "scopelock")
    eq(r.returncode, 0, f"dpkg -r: {r.stdout}{r.stderr}")
    check(not (root / "usr/sbin/scopelockd").exists(), "removed: the daemon")
    eq(site.read_text(), edited, "removed: the site's policy stays")
    r = chroot(root, "dpkg", "-P", "scopelock")
    eq(r.returncode, 0, f"dpkg -P: {r.stdout}{r.stderr}")
    (root / "tmp" / "scopelock.deb").unlink()
    after = files(root)
    eq(sorted(after - before), [], "files left after purge")
    eq(sorted(before - after), [], "files of the root the package removed")
