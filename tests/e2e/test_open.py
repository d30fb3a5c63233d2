# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""open records: the kernel-resolved path (symlinks, dirfd, "..", /proc/self/fd),
the caller's string, flags, result, dev and inode, for every open syscall."""

import errno as errno_mod
import json
import os

from checks import check_common, flags_value
from harness import Bopt, PY, check, eq, fail, rand_marker, record_mentions, short

# runs inside the session; every open it does is listed in the result file
SESSION_SCRIPT = r'''
import ctypes, json, os, sys
out, base = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
NR_open, NR_creat, NR_openat2 = 2, 85, 437
NR_name_to_handle_at, NR_open_by_handle_at = 303, 304
AT_FDCWD = -100
res = {"pid": os.getpid(), "ops": []}

def note(kind, requested, ret, flags, expect, syscall="openat"):
    res["ops"].append(dict(kind=kind, requested=requested, ret=ret, flags=flags, expect=expect,
                           syscall=syscall))

def sysc(nr, *args):
    r = libc.syscall(nr, *args)
    return -ctypes.get_errno() if r < 0 else r

def pyopen(kind, path, flags, expect, mode=0o644, dir_fd=None):
    try:
        fd = os.open(path, flags, mode, dir_fd=dir_fd)
    except OSError as e:
        note(kind, path, -e.errno, flags | os.O_CLOEXEC, expect)
        return None
    note(kind, path, fd, flags | os.O_CLOEXEC, expect)
    return fd

real = base + "/real"
tgt = real + "/target.txt"
for kind, path in (("symlink", base + "/link"),
                   ("dotdot", real + "/sub/../target.txt"),
                   ("symlinked_dir_dotdot", base + "/dirlink/sub/../target.txt")):
    os.close(pyopen(kind, path, os.O_RDONLY, tgt))
dfd = pyopen("dir", real, os.O_RDONLY | os.O_DIRECTORY, real)
os.close(pyopen("dirfd_relative", "target.txt", os.O_RDONLY, tgt, dir_fd=dfd))
os.close(pyopen("proc_self_fd", "/proc/self/fd/%d/target.txt" % dfd, os.O_RDONLY, tgt))
os.chdir(real + "/sub")
os.close(pyopen("cwd_relative_dotdot", "../target.txt", os.O_RDONLY, tgt))
os.close(pyopen("create", real + "/created.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                real + "/created.txt", 0o640))
pyopen("enoent", base + "/missing.txt", os.O_RDONLY, None)
pyopen("enotdir", tgt + "/x", os.O_RDONLY, None)

# the legacy open(2) syscall
p = (base + "/link2").encode()
fd = sysc(NR_open, p, os.O_RDONLY, 0)
note("sys_open", p.decode(), fd, os.O_RDONLY, tgt, "open"); os.close(fd)
# creat(2)
p = (real + "/creat.txt").encode()
fd = sysc(NR_creat, p, 0o600)
note("sys_creat", p.decode(), fd, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, real + "/creat.txt",
     "creat"); os.close(fd)
# openat2(2), dirfd-relative with ".."
class OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]
how = OpenHow(os.O_RDONLY, 0, 0)
p = b"sub/../target.txt"
fd = sysc(NR_openat2, dfd, p, ctypes.byref(how), ctypes.sizeof(how))
note("sys_openat2", p.decode(), fd, os.O_RDONLY, tgt, "openat2"); os.close(fd)
# open_by_handle_at(2): no path string at all
class FileHandle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 128)]
fh = FileHandle(128, 0)
mount_id = ctypes.c_int(0)
r = sysc(NR_name_to_handle_at, AT_FDCWD, tgt.encode(), ctypes.byref(fh), ctypes.byref(mount_id), 0)
if r != 0:
    res["handle_error"] = r
else:
    fd = sysc(NR_open_by_handle_at, dfd, ctypes.byref(fh), os.O_RDONLY)
    note("sys_open_by_handle_at", None, fd, os.O_RDONLY, tgt, "open_by_handle_at")
    if fd >= 0:
        os.close(fd)
with open(out, "w") as f:
    json.dump(res, f)
'''


def setup_tree(t, m):
    base = t.tmp / f"tree-{m}"
    (base / "real" / "sub").mkdir(parents=True)
    (base / "real" / "target.txt").write_text("target\n")
    os.symlink(base / "real" / "target.txt", base / "link")
    os.symlink("real/sub/../target.txt", base / "link2")
    os.symlink("real", base / "dirlink")
    return base


def test_open_resolved_paths(t):
    d = t.daemon()
    m = rand_marker("open")
    base = setup_tree(t, m)
    script = t.write("open_session.py", SESSION_SCRIPT)
    out = t.tmp / "open_result.json"
    r = d.run([PY, str(script), str(out), str(base)])
    eq(r.rc, 0, f"run exit status ({r})")
    res = json.loads(out.read_text())
    check("handle_error" not in res, f"name_to_handle_at failed in the session: {res}")
    sid = d.finished_session(r)
    opens = [x for x in d.records(session=sid, type="open") if x.get("pid") == res["pid"]]
    dump = d.dump(session=sid, types=("open",))
    st_tgt = os.stat(base / "real" / "target.txt")

    for op in res["ops"]:
        kind, ret = op["kind"], op["ret"]
        if op["requested"] is not None:
            want_req = op["requested"].encode()
            hits = [x for x in opens if Bopt(x.get("requested")) == want_req
                    and x.get("result") == ret]
        else:
            hits = [x for x in opens if x.get("result") == ret and Bopt(x.get("path")) ==
                    op["expect"].encode() and Bopt(x.get("requested")) == b""]
        if len(hits) != 1:
            fail(f"{kind}: expected one open record with requested={op['requested']!r} "
                 f"result={ret}, found {len(hits)}\n{dump}")
        x = hits[0]
        check_common(x, sid)
        what = f"{kind} ({op['requested']!r})"
        eq(x.get("syscall"), op["syscall"], f"{what}: syscall")
        eq(flags_value(x.get("flags")), op["flags"], f"{what}: flags")
        if op["expect"] is None:
            check(ret < 0, f"{what} should have failed in the session: {op}")
            check(x.get("path") in (None, ""),
                  f"{what}: failed open must have no resolved path: {short(x)}")
            eq(x.get("errno"), -ret, f"{what}: errno")
            eq(x.get("error"), errno_mod.errorcode[-ret], f"{what}: error")
            continue
        check("errno" not in x, f"{what}: a successful open has errno: {short(x)}")
        check(ret >= 0, f"{what} failed in the session: {op}")
        eq(Bopt(x.get("path")), op["expect"].encode(), f"{what}: resolved path")
        st = os.stat(op["expect"])
        eq(x.get("ino"), st.st_ino, f"{what}: inode")
        eq(x.get("dev"), f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}", f"{what}: dev")
        if op["expect"].endswith("target.txt"):
            eq(x.get("ino"), st_tgt.st_ino, f"{what}: the target's inode")

    create = [x for x in opens if x.get("requested") == str(base / "real" / "created.txt")]
    eq(len(create), 1, "open records of created.txt")
    eq(create[0].get("flags_text"), "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC", "flags_text of create")
    eq(create[0].get("mode"), 0o640, "mode of create")

    enoent = next(o for o in res["ops"] if o["kind"] == "enoent")
    eq(enoent["ret"], -2, "ENOENT open result in the session")
    enotdir = next(o for o in res["ops"] if o["kind"] == "enotdir")
    eq(enotdir["ret"], -20, "ENOTDIR open result in the session")


def test_open_outside_not_recorded(t):
    d = t.daemon()
    m = rand_marker("openout")
    inside = t.write(f"inside-{m}.txt", "x")
    outside = t.write(f"outside-{m}.txt", "x")
    code = "import sys; [open(p).read() for p in sys.argv[1:]]"
    out = t.outside([PY, "-c", code, str(outside)])
    eq(out.rc, 0, f"outside open ({out})")
    r = d.run([PY, "-c", code, str(inside)])
    eq(r.rc, 0, f"run ({r})")
    sid = d.finished_session(r)
    hits = [x for x in d.records(session=sid, type="open")
            if Bopt(x.get("path")) == str(inside).encode()]
    eq(len(hits), 1, "open records of the file opened inside\n" + d.dump(session=sid))
    for x in d.records():
        check(not record_mentions(x, f"outside-{m}"),
              f"an open outside any session was recorded: {short(x)}")
