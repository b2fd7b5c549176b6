"""Server-side graph layout: layers by longest path, few crossings within layers."""

from __future__ import annotations

from ui.layout import crossings, layout


def test_chain_goes_left_to_right() -> None:
    result = layout(["a", "b", "c"], [("a", "b"), ("b", "c")])
    assert [result.places[n].layer for n in "abc"] == [0, 1, 2]
    assert (result.layers, result.rows) == (3, 1)


def test_layer_is_the_longest_path_from_an_entry_node() -> None:
    result = layout(["a", "b", "c", "d"], [("a", "b"), ("b", "c"), ("a", "c"), ("d", "c")])
    assert {n: p.layer for n, p in result.places.items()} == {"a": 0, "b": 1, "c": 2, "d": 0}


def test_barycentric_ordering_uncrosses_wires() -> None:
    nodes, edges = ["a", "b", "x", "y"], [("a", "y"), ("b", "x")]
    assert crossings([["a", "b"], ["x", "y"]], edges) == 1  # declaration order crosses
    result = layout(nodes, edges)
    rows = {n: p.row for n, p in result.places.items()}
    assert rows["a"] == 0 and rows["b"] == 1
    assert rows["y"] == 0 and rows["x"] == 1


def test_smaller_layers_are_centred() -> None:
    result = layout(
        ["src", "l", "r", "sink"], [("src", "l"), ("src", "r"), ("l", "sink"), ("r", "sink")]
    )
    assert result.rows == 2
    assert result.places["src"].y == 0.5 and result.places["sink"].y == 0.5
    assert sorted(result.places[n].y for n in ("l", "r")) == [0.0, 1.0]


def test_cycles_and_unknown_nodes_do_not_break_it() -> None:
    result = layout(["a", "b"], [("a", "b"), ("b", "a"), ("a", "ghost"), ("a", "a")])
    assert set(result.places) == {"a", "b"}
    assert result.layers >= 1


def test_empty_flow() -> None:
    assert layout([], []).places == {}
