"""Hierarchy spec: YAML -> per-dimension codes, parents and (possibly overlapping) partitions.

A spec maps each dimension column to ``{parent code: {partition name: [child codes]}}``.
A parent equals the sum of each of its partitions; several partitions of one parent (gender,
race, income of "All Students") are the normal case, and children may themselves be parents
(school -> district -> state).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from datashare.disclosure.errors import DisclosureError

# The dimension a rate table's cell space adds last (``model.rate_spec``): denominator =
# numerator + rest ("tested = met + not met"), in that order.
MEASURE_DIM = "_measure"
DEN, NUM, REST = 0, 1, 2  # position of each measure in that dimension


@dataclass(frozen=True)
class Partition:
    parent: str
    name: str
    children: tuple[str, ...]


@dataclass
class Dimension:
    name: str
    codes: list[str]  # every code: parents first (top-down), then the rest in spec order
    partitions: list[Partition] = field(default_factory=list)

    def index(self) -> dict[str, int]:
        return {code: i for i, code in enumerate(self.codes)}

    def links(self) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
        """(parents, children) of every code by code number, over every partition; a code
        without any maps to an empty set."""
        index = self.index()
        parents: dict[int, set[int]] = defaultdict(set)
        children: dict[int, set[int]] = defaultdict(set)
        for part in self.partitions:
            p = index[part.parent]
            for name in part.children:
                parents[index[name]].add(p)
                children[p].add(index[name])
        return parents, children


@dataclass
class Spec:
    dimensions: list[Dimension]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def dimension(self, name: str) -> Dimension:
        for d in self.dimensions:
            if d.name == name:
                return d
        raise DisclosureError(f"dimension {name!r} is not in the spec")


def load_spec(path: str | Path) -> Spec:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise DisclosureError(f"cannot read spec {path}: {exc.strerror}") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DisclosureError(f"spec {path} is not valid YAML: {exc}") from exc
    return parse_spec(raw)


def parse_spec(raw: Any) -> Spec:
    """Validate a decoded YAML spec: shapes, duplicate children, cycles."""
    if not isinstance(raw, dict) or not raw:
        raise DisclosureError("spec must map each dimension column to its parents and partitions")
    dims = [_parse_dimension(str(name), body) for name, body in raw.items()]
    return Spec(dims)


def _parse_dimension(name: str, body: Any) -> Dimension:
    if not isinstance(body, dict) or not body:
        raise DisclosureError(f"spec dimension {name!r} must map parent codes to partitions")
    partitions: list[Partition] = []
    for parent, parts in body.items():
        if not isinstance(parts, dict) or not parts:
            raise DisclosureError(
                f"spec {name}: parent {parent!r} must map partition names to lists of child codes"
            )
        for pname, children in parts.items():
            if not isinstance(children, list) or not children:
                raise DisclosureError(
                    f"spec {name}: partition {pname!r} of {parent!r} must be a non-empty list"
                )
            kids = tuple(str(c) for c in children)
            if len(set(kids)) != len(kids):
                raise DisclosureError(
                    f"spec {name}: partition {pname!r} of {parent!r} lists a child twice"
                )
            if str(parent) in kids:
                raise DisclosureError(
                    f"spec {name}: cycle in the hierarchy: {parent!r} is its own child"
                )
            partitions.append(Partition(str(parent), str(pname), kids))
    _check_acyclic(name, partitions)
    codes: list[str] = []
    seen: set[str] = set()
    for p in partitions:
        for code in (p.parent, *p.children):
            if code not in seen:
                seen.add(code)
                codes.append(code)
    return Dimension(name, codes, partitions)


def _check_acyclic(name: str, partitions: list[Partition]) -> None:
    graph: dict[str, set[str]] = {}
    for p in partitions:
        graph.setdefault(p.parent, set()).update(p.children)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in graph:
        if state.get(root):
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(graph.get(root, ())))]
        path = [root]
        state[root] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            child = todo.pop()
            if state.get(child) == 1:
                cycle = [*path[path.index(child) :], child]
                raise DisclosureError(
                    f"spec {name}: cycle in the hierarchy: {' -> '.join(cycle)}"
                )
            if not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, sorted(graph.get(child, ()))))
