# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""A small tmpfs for a daemon's audit directory, to fill up and free again
(tests/e2e/test_audit_failure.py, tests/adversarial/audit_blind_*.py), and
what the daemon and the kernel say about a session frozen for the audit log."""

import os
import subprocess

from harness import cgroup_abs, check


class AuditFS:
    """A tmpfs of `size` at TMP/name for the audit directory, and a filler
    file on it that the test writes until ENOSPC and removes again."""

    def __init__(self, t, size="4m", name="auditfs"):
        self.path = t.tmp / name
        self.path.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                            str(self.path)], capture_output=True, stdin=subprocess.DEVNULL)
        check(r.returncode == 0, f"mount tmpfs at {self.path}: {r.stderr.decode()}")
        # registered before the daemon: cleanups run in reverse, so this runs after it stopped
        t.on_cleanup(self.umount)
        self.audit = str(self.path / "audit")
        self.filler = self.path / "filler"

    def fill(self):
        """Write the filler until the file system is full; returns its size."""
        n = 0
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                n += os.write(fd, b"\0" * 65536)
        except OSError as e:
            check(e.errno == 28, f"filling {self.filler}: {e}")
        finally:
            os.close(fd)
        # the last partial pages too
        fd = os.open(self.filler, os.O_WRONLY | os.O_APPEND)
        try:
            while True:
                n += os.write(fd, b"\0" * 512)
        except OSError:
            pass
        finally:
            os.close(fd)
        st = os.statvfs(self.path)
        check(st.f_bavail == 0, f"{self.path} still has {st.f_bavail} free blocks after filling")
        return n

    def free(self):
        os.unlink(self.filler)

    def umount(self):
        if os.path.ismount(self.path):
            r = subprocess.run(["umount", str(self.path)], capture_output=True,
                               stdin=subprocess.DEVNULL)
            if r.returncode:
                raise RuntimeError(f"umount {self.path}: {r.stderr.decode()}")


def cgroup_file(d, sid, name):
    cg = d.session_start(sid).get("cgroup")
    with open(os.path.join(cgroup_abs(cg), name)) as f:
        return f.read()


def frozen(d, sid):
    """The kernel's word: cgroup.events says every task of the session is frozen."""
    return "frozen 1" in cgroup_file(d, sid, "cgroup.events").splitlines()


def audit_status(d):
    au = d.status().get("audit")
    check(isinstance(au, dict), f"status --json has no \"audit\" object: {au!r}")
    return au
