#!/usr/bin/env python3
"""Fails if the modules of a crate import each other in a circle.

Reads every `use crate::…` and `use super::…` statement (grouped ones too) and every
path written out in code (`super::json::push_i64(…)`) of each .rs file under SRC
(default kernel/src), resolves each path to the deepest module file it names, and looks
for a cycle in that module -> module graph. Comments and the `#[cfg(test)] mod tests`
at the end of a file are skipped: tests may reach across the house.
"""
import re
import sys
from pathlib import Path

src = Path(sys.argv[1] if len(sys.argv) > 1 else "kernel/src")
files = sorted(src.rglob("*.rs"))


def module_of(path: Path) -> tuple:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts.pop()
    return tuple(parts)


modules = {module_of(f): f for f in files}


def expand(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]."""
    tree = re.sub(r"\s+", "", tree)
    depth, start = 0, None
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                prefix, inner, rest = tree[:start], tree[start + 1 : i], tree[i + 1 :]
                items, d, last = [], 0, 0
                for j, c in enumerate(inner + ","):
                    if c == "{":
                        d += 1
                    elif c == "}":
                        d -= 1
                    elif c == "," and d == 0:
                        if inner[last:j]:
                            items.append(inner[last:j])
                        last = j + 1
                return [p for item in items for p in expand(prefix + item + rest)]
    return [tree]


def resolve(current: tuple, path: str):
    parts = [p.split(" as ")[0] for p in path.split("::")]
    if parts[0] == "crate":
        base, parts = [], parts[1:]
    else:
        base = list(current)
        while parts and parts[0] == "super":
            base.pop()
            parts = parts[1:]
        if parts and parts[0] == "self":
            parts = parts[1:]
    best = None
    for n in range(len(parts) + 1):
        candidate = tuple(base + parts[:n])
        if candidate in modules:
            best = candidate
    return best


edges = {m: set() for m in modules}
path_re = re.compile(r"\b(?:crate|super)(?:::(?:super|\w+))+")
use_re = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+((?:crate|super)::[^;]*);", re.M | re.S)
for module, path in modules.items():
    text = re.split(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod ", path.read_text())[0]
    text = re.sub(r"//[^\n]*", "", text)
    paths = [p for m in use_re.finditer(text) for p in expand(m.group(1))]
    paths += path_re.findall(use_re.sub("", text))
    for target_path in paths:
        if True:
            target = resolve(module, target_path)
            if target is not None and target != module:
                edges[module].add(target)

# Find cycles (Tarjan's strongly connected components).
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def strong(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            strong(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        scc = []
        while True:
            w = stack.pop()
            on.remove(w)
            scc.append(w)
            if w == v:
                break
        if len(scc) > 1:
            sccs.append(scc)


sys.setrecursionlimit(10000)
for v in modules:
    if v not in index:
        strong(v)

name = lambda m: "::".join(("crate",) + m)
count = sum(len(e) for e in edges.values())
if sccs:
    for scc in sccs:
        members = set(scc)
        print(f"import circle in {src}: " + ", ".join(sorted(name(m) for m in scc)))
        for m in sorted(scc):
            for t in sorted(edges[m] & members):
                print(f"  {name(m)} -> {name(t)}")
    sys.exit(1)
print(f"{src}: {len(modules)} modules, {count} imports between them, no circle")
