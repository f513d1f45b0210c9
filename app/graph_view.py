"""Graphs drawn with streamlit-agraph (vis.js on a canvas): an entity's neighbourhood, or the nodes
and relationships a Cypher query returned.

Labels are drawn on the canvas as text. Node tooltips are not used: the component puts a node's
title into the page as HTML, and names come from the store. Node ids are positions ("n0", "n1" ...),
so a name never reaches the component except as a label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lmlm.app.render import short

MAX_NODES = 300
LABEL_WIDTH = 40


@dataclass
class DrawnGraph:
    """Nodes (by display name) and edges to draw; ``names[i]`` is node ``n{i}``."""

    names: list[str] = field(default_factory=list)
    edges: list[tuple[int, int, str]] = field(default_factory=list)
    center: int | None = None
    _index: dict[str, int] = field(default_factory=dict)

    def node(self, key: str, name: str) -> int | None:
        """The node for ``key`` (added with ``name`` if new), or None when the graph is full."""
        if key not in self._index:
            if len(self.names) >= MAX_NODES:
                return None
            self._index[key] = len(self.names)
            self.names.append(name)
        return self._index[key]

    def edge(self, a: tuple[str, str], b: tuple[str, str], label: str) -> None:
        i, j = self.node(*a), self.node(*b)
        if i is not None and j is not None:
            self.edges.append((i, j, label))

    def name_of(self, node_id: str | None) -> str | None:
        if not node_id or not node_id.startswith("n") or not node_id[1:].isdigit():
            return None
        i = int(node_id[1:])
        return self.names[i] if i < len(self.names) else None


def from_neighbourhood(graph, center_key: str | None = None) -> DrawnGraph:
    """A ``KnowledgeGraph.neighbourhood`` (networkx MultiDiGraph) to draw."""
    drawn = DrawnGraph()
    for key, data in graph.nodes(data=True):
        drawn.node(key, data.get("name", key))
    for a, b, data in graph.edges(data=True):
        drawn.edge(
            (a, graph.nodes[a].get("name", a)), (b, graph.nodes[b].get("name", b)), data.get("relation", "")
        )
    if center_key is not None:
        drawn.center = drawn._index.get(center_key)
    return drawn


def from_records(records: Iterable[dict]) -> DrawnGraph:
    """Nodes and relationships in Cypher results (as the driver's ``.data()`` gives them: a node is
    its property map, a relationship a ``(start, type, end)`` tuple, a path a list of both)."""
    drawn = DrawnGraph()
    for record in records:
        for value in record.values():
            _add_value(drawn, value)
    return drawn


def _add_value(drawn: DrawnGraph, value) -> None:
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], str):
        start, rel_type, end = value
        if isinstance(start, dict) and isinstance(end, dict):  # .data() keeps no relationship properties
            drawn.edge(_node_key(start), _node_key(end), rel_type)
    elif isinstance(value, list):
        for item in value:
            _add_value(drawn, item)
    elif isinstance(value, dict) and ("key" in value or "name" in value):
        drawn.node(*_node_key(value))


def _node_key(props: dict) -> tuple[str, str]:
    name = str(props.get("name") or props.get("key") or props.get("id") or "?")
    return str(props.get("kh") or props.get("key") or name), name


def agraph_elements(drawn: DrawnGraph):
    """The component's nodes, edges and config."""
    from streamlit_agraph import Config, Edge, Node

    nodes = [
        Node(
            id=f"n{i}",
            label=short(name, LABEL_WIDTH),
            size=22 if i == drawn.center else 14,
            color="#e8590c" if i == drawn.center else "#4c6ef5",
        )
        for i, name in enumerate(drawn.names)
    ]
    edges = [
        Edge(source=f"n{i}", target=f"n{j}", label=short(label, LABEL_WIDTH)) for i, j, label in drawn.edges
    ]
    config = Config(width="100%", height=560, directed=True, physics=True, hierarchical=False)
    return nodes, edges, config


def draw(drawn: DrawnGraph) -> str | None:
    """Draw ``drawn``; the name of the node the user clicked, if any."""
    from streamlit_agraph import agraph

    nodes, edges, config = agraph_elements(drawn)
    clicked = agraph(nodes=nodes, edges=edges, config=config)
    return drawn.name_of(clicked)
