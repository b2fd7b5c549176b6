"""Left-to-right positions for a flow graph, computed once on the server.

Layers are the longest path from an entry node, so every wire points right.
Within a layer, nodes are ordered by the barycentre of their neighbours (a few
down and up sweeps, keeping the order with fewest crossings), so wires do not
cross needlessly. The browser then only multiplies positions by box sizes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SWEEPS = 4


@dataclass(frozen=True, slots=True)
class Place:
    layer: int
    row: int
    #: Vertical slot with each layer centred on the tallest one (what to draw).
    y: float


@dataclass(frozen=True, slots=True)
class Layout:
    places: dict[str, Place]
    layers: int
    rows: int


def layout(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> Layout:
    """Place ``nodes`` (in declaration order) given directed ``edges`` between them."""
    known = set(nodes)
    pairs = list(dict.fromkeys((a, b) for a, b in edges if a in known and b in known and a != b))
    order = _topological(nodes, pairs)
    rank = {node: index for index, node in enumerate(order)}
    forward = [(a, b) for a, b in pairs if rank[a] < rank[b]]  # drops back edges of a cycle
    layer_of = dict.fromkeys(nodes, 0)
    for node in order:
        for a, b in forward:
            if a == node:
                layer_of[b] = max(layer_of[b], layer_of[a] + 1)
    count = max(layer_of.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(count)]
    for node in nodes:
        layers[layer_of[node]].append(node)
    layers = _order(layers, forward)
    rows = max((len(layer) for layer in layers), default=0)
    places = {
        node: Place(index, row, row + (rows - len(layer)) / 2)
        for index, layer in enumerate(layers)
        for row, node in enumerate(layer)
    }
    return Layout(places, count, rows)


def _topological(nodes: Sequence[str], pairs: list[tuple[str, str]]) -> list[str]:
    """Kahn's order, stable in declaration order; nodes caught in a cycle go last."""
    indegree = dict.fromkeys(nodes, 0)
    for _, b in pairs:
        indegree[b] += 1
    ready = [n for n in nodes if indegree[n] == 0]
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for a, b in pairs:
            if a == node:
                indegree[b] -= 1
                if indegree[b] == 0:
                    ready.append(b)
    placed = set(order)
    return order + [n for n in nodes if n not in placed]


def _order(layers: list[list[str]], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Barycentric sweeps; returns the ordering with the fewest crossings seen."""
    best = [list(layer) for layer in layers]
    best_crossings = crossings(best, edges)
    current = [list(layer) for layer in layers]
    for sweep in range(SWEEPS * 2):
        downward = sweep % 2 == 0
        indices = range(1, len(current)) if downward else range(len(current) - 2, -1, -1)
        for index in indices:
            y = _centred(current)
            neighbours: dict[str, list[float]] = {node: [] for node in current[index]}
            for a, b in edges:
                here, there = (b, a) if downward else (a, b)
                beside = y[there][0] < index if downward else y[there][0] > index
                if here in neighbours and beside:
                    neighbours[here].append(y[there][1])
            current[index].sort(key=lambda n: _mean(neighbours[n], y[n][1]))
        found = crossings(current, edges)
        if found < best_crossings:
            best, best_crossings = [list(layer) for layer in current], found
    return best


def _centred(layers: list[list[str]]) -> dict[str, tuple[int, float]]:
    rows = max((len(layer) for layer in layers), default=0)
    return {
        node: (index, row + (rows - len(layer)) / 2)
        for index, layer in enumerate(layers)
        for row, node in enumerate(layer)
    }


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


def crossings(layers: list[list[str]], edges: list[tuple[str, str]]) -> int:
    """Pairs of wires that cross, counting wires spanning the same two layers."""
    y = _centred(layers)
    count = 0
    for i, (a, b) in enumerate(edges):
        for c, d in edges[i + 1 :]:
            if y[a][0] != y[c][0] or y[b][0] != y[d][0]:
                continue
            if (y[a][1] - y[c][1]) * (y[b][1] - y[d][1]) < 0:
                count += 1
    return count
