#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""modgraph.py OBJ... - the module graph of fwd's objects, from nm.

A module is one object file; A depends on B when A uses a symbol B defines.
Prints each module's dependencies, then every strongly connected set of more
than one module (a cycle). Exits 1 when there is a cycle, 0 otherwise.
main.o is left out: it calls everything and nothing calls it.
"""
import glob
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", "-P", obj], check=True, capture_output=True,
                         text=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            used.add(name)
        elif kind.isupper():
            defined.add(name)
    return defined, used


def sccs(graph):
    """Tarjan's strongly connected components, iteratively."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(root):
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                out.append(sorted(comp))

    for n in sorted(graph):
        if n not in index:
            visit(n)
    return out


def main():
    args = sys.argv[1:] or ["build/obj"]
    if len(args) == 1 and os.path.isdir(args[0]):
        objs = sorted(glob.glob(os.path.join(args[0], "*.o")))
    else:
        objs = sorted(args)
    mods = {}
    for o in objs:
        name = os.path.basename(o)[:-2]
        if name != "main":
            mods[name] = symbols(o)
    owner = {}
    for m, (defined, _) in mods.items():
        for s in defined:
            owner[s] = m
    graph = {m: set() for m in mods}
    for m, (_, used) in mods.items():
        for s in used:
            if s in owner and owner[s] != m:
                graph[m].add(owner[s])
    for m in sorted(graph):
        print("%-10s -> %s" % (m, " ".join(sorted(graph[m])) or "-"))
    cycles = [c for c in sccs(graph) if len(c) > 1]
    for c in cycles:
        print("cycle: " + " ".join(c))
    if cycles:
        return 1
    print("no cycle among %d modules" % len(graph))
    return 0


if __name__ == "__main__":
    sys.exit(main())
