#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
"""The rooms of scopelockd and what they include, from the #include "..."
lines of user/daemon/*.[ch] and user/lib/*.h (docs/architecture.md).

A room is user/daemon/X.c with its door user/daemon/X.h; its other files
are user/daemon/X_*.c and its private headers user/daemon/X_*.h (the
longest room name that prefixes a file's name owns the file). main.c owns
the loop and includes doors only; daemon.h holds constants every room may
use.

Fails (exit 1, every violation on stderr) when:
  - headers of user/daemon or user/lib include each other in a cycle;
  - rooms depend on each other in a cycle (room A includes B's door and B
    includes A's, directly or through others);
  - a file includes another room's private header;
  - a door includes another room's header (doors forward-declare);
  - daemon.h includes a header of user/daemon;
  - a file outside the kernel room includes the BPF skeleton;
  - a library header includes a header of user/daemon;
  - a daemon file includes a library's private header (*_priv.h,
    *_internal.h).

usage: tools/depgraph.py [--text | --dot | --mermaid | --markdown]
       tools/depgraph.py --update-doc FILE | --check-doc FILE
The doc options write (or compare) the generated block of FILE between
the lines "<!-- depgraph:begin -->" and "<!-- depgraph:end -->".
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DAEMON = "user/daemon"
LIB = "user/lib"
SKELETON = "scopelock.skel.h"
KERNEL_ROOM = "kernel"
BEGIN = "<!-- depgraph:begin -->"
END = "<!-- depgraph:end -->"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def includes(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
        return INCLUDE.findall(f.read())


def listdir(d, exts):
    return sorted(f for f in os.listdir(os.path.join(ROOT, d)) if f.endswith(exts))


class Tree:
    def __init__(self):
        self.dfiles = listdir(DAEMON, (".c", ".h"))
        self.lfiles = listdir(LIB, (".h",))
        self.rooms = sorted(f[:-2] for f in self.dfiles
                            if f.endswith(".h") and f[:-2] + ".c" in self.dfiles)
        self.inc = {f: includes(os.path.join(DAEMON, f)) for f in self.dfiles}
        self.linc = {f: includes(os.path.join(LIB, f)) for f in self.lfiles}

    def owner(self, name):
        """The room owning a file of user/daemon (None: main.c, daemon.h)."""
        base = name.rsplit(".", 1)[0]
        best = None
        for r in self.rooms:
            if base == r or base.startswith(r + "_"):
                if best is None or len(r) > len(best):
                    best = r
        return best

    def is_door(self, name):
        return name.endswith(".h") and name[:-2] in self.rooms

    def is_private(self, name):
        return name in self.dfiles and name.endswith(".h") and not self.is_door(name) \
            and self.owner(name) is not None

    def node(self, name):
        """The node of a daemon file in the room graph."""
        if name == "main.c":
            return "main"
        if name == "daemon.h":
            return "daemon.h"
        return self.owner(name) or name

    def room_edges(self):
        """room -> {rooms whose doors it includes} (main included)."""
        edges = {}
        for f in self.dfiles:
            src = self.node(f)
            edges.setdefault(src, set())
            for h in self.inc[f]:
                if self.is_door(h) and h[:-2] != src:
                    edges[src].add(h[:-2])
        return edges

    def lib_edges(self):
        """room -> {library headers it includes}."""
        edges = {}
        for f in self.dfiles:
            src = self.node(f)
            for h in self.inc[f]:
                if h in self.lfiles:
                    edges.setdefault(src, set()).add(h)
        return edges


def cycles(edges):
    """Every cycle found by a depth-first walk (each reported once)."""
    found, seen, stack, on = [], set(), [], set()

    def walk(n):
        seen.add(n)
        stack.append(n)
        on.add(n)
        for m in sorted(edges.get(n, ())):
            if m in on:
                cyc = stack[stack.index(m):] + [m]
                key = frozenset(cyc)
                if key not in {frozenset(c) for c in found}:
                    found.append(cyc)
            elif m not in seen:
                walk(m)
        stack.pop()
        on.discard(n)

    for n in sorted(edges):
        if n not in seen:
            walk(n)
    return found


def check(t):
    errs = []
    # header include cycles (user/daemon and user/lib headers)
    hdr = {}
    for f in t.dfiles:
        if f.endswith(".h"):
            hdr[DAEMON + "/" + f] = {DAEMON + "/" + h for h in t.inc[f] if h in t.dfiles} | \
                {LIB + "/" + h for h in t.inc[f] if h in t.lfiles}
    for f in t.lfiles:
        hdr[LIB + "/" + f] = {LIB + "/" + h for h in t.linc[f] if h in t.lfiles}
    for c in cycles(hdr):
        errs.append("header include cycle: " + " -> ".join(c))
    # room cycles
    for c in cycles(t.room_edges()):
        errs.append("rooms depend on each other in a cycle: " + " -> ".join(c))
    for f in t.dfiles:
        me = t.owner(f)
        for h in t.inc[f]:
            if t.is_private(h) and t.owner(h) != me:
                errs.append(f"{DAEMON}/{f}: includes {h}, a private header of room "
                            f"'{t.owner(h)}' (use its door {t.owner(h)}.h)")
            if t.is_door(f) and h in t.dfiles and h != "daemon.h" and t.owner(h) != me:
                errs.append(f"{DAEMON}/{f}: the door of '{me}' includes {h} "
                            f"(forward-declare the other room's struct instead)")
            if f == "daemon.h" and h in t.dfiles:
                errs.append(f"{DAEMON}/daemon.h: includes {h} (daemon.h holds constants only)")
            if h == SKELETON and me != KERNEL_ROOM:
                errs.append(f"{DAEMON}/{f}: includes the BPF skeleton outside the kernel room")
            if h in t.lfiles and re.search(r"_(priv|internal)\.h$", h):
                errs.append(f"{DAEMON}/{f}: includes {LIB}/{h}, a library's private header")
    for f in t.lfiles:
        for h in t.linc[f]:
            if h in t.dfiles and h not in t.lfiles:
                errs.append(f"{LIB}/{f}: includes {DAEMON}/{h} (the libraries are below "
                            f"the daemon)")
    return errs


def order(t, edges):
    """Rooms bottom-up: a room after every room it depends on."""
    out, done = [], set()

    def visit(n):
        if n in done:
            return
        done.add(n)
        for m in sorted(edges.get(n, ())):
            visit(m)
        out.append(n)

    for n in sorted(edges):
        visit(n)
    return out


def text(t):
    edges = t.room_edges()
    libs = t.lib_edges()
    lines = ["rooms (bottom-up) and the doors each includes:"]
    for n in order(t, edges):
        if n == "daemon.h":
            continue
        deps = sorted(edges.get(n, ()))
        files = [f for f in t.dfiles if t.node(f) == n]
        lines.append(f"  {n:<13} -> {', '.join(deps) if deps else '(none)'}")
        lines.append(f"  {'':<13}    files: {' '.join(files)}")
        if libs.get(n):
            lines.append(f"  {'':<13}    lib: {' '.join(sorted(libs[n]))}")
    return "\n".join(lines) + "\n"


def dot(t):
    edges = t.room_edges()
    out = ["digraph scopelockd {", "\trankdir=BT;", "\tnode [shape=box];"]
    for n in order(t, edges):
        if n == "daemon.h":
            continue
        for m in sorted(edges.get(n, ())):
            out.append(f'\t"{n}" -> "{m}";')
    out.append("}")
    return "\n".join(out) + "\n"


def mermaid(t):
    edges = t.room_edges()
    out = ["flowchart BT"]
    for n in order(t, edges):
        if n in ("daemon.h", "main"):
            continue
        deps = sorted(edges.get(n, ()))
        if not deps:
            out.append(f"    {n}")
        for m in deps:
            out.append(f"    {n} --> {m}")
    out.append("    main --> " + " & ".join(sorted(edges.get("main", ()))))
    return "\n".join(out) + "\n"


def markdown(t):
    return ("Generated by `tools/depgraph.py --update-doc docs/architecture.md` from the "
            "`#include` lines; an arrow goes from a room to a room whose door it includes "
            "(`main` includes every door).\n\n```mermaid\n" + mermaid(t) + "```\n\n```\n" +
            text(t) + "```\n")


def doc_block(path, t, write):
    full = os.path.join(ROOT, path) if not os.path.isabs(path) else path
    with open(full, encoding="utf-8") as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        print(f"{path}: no {BEGIN} ... {END} block", file=sys.stderr)
        return 1
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    new = head + BEGIN + "\n" + markdown(t) + END + tail
    if write:
        with open(full, "w", encoding="utf-8") as f:
            f.write(new)
        return 0
    if new != doc:
        print(f"{path}: the dependency graph is out of date: run "
              f"tools/depgraph.py --update-doc {path}", file=sys.stderr)
        return 1
    return 0


def main(argv):
    t = Tree()
    errs = check(t)
    for e in errs:
        print("depgraph: " + e, file=sys.stderr)
    mode = argv[1] if len(argv) > 1 else "--text"
    status = 1 if errs else 0
    if mode == "--text":
        sys.stdout.write(text(t))
    elif mode == "--dot":
        sys.stdout.write(dot(t))
    elif mode == "--mermaid":
        sys.stdout.write(mermaid(t))
    elif mode == "--markdown":
        sys.stdout.write(markdown(t))
    elif mode in ("--update-doc", "--check-doc") and len(argv) == 3:
        status |= doc_block(argv[2], t, mode == "--update-doc")
    else:
        print(__doc__.split("usage:", 1)[1].strip().join(["usage: ", ""]), file=sys.stderr)
        return 2
    if not errs and mode in ("--text", "--check-doc"):
        print(f"depgraph: {len(t.rooms)} rooms, no cycle, every door respected",
              file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
