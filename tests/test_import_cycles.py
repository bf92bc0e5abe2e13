"""The import graph of client/ and server/ has no cycles.

A cycle makes the order modules load in matter, hides which module owns a fact,
and grows: the resolver used to import the hosts that imported the runtime
type it defined. The graph is read by grimp from the source (every import,
including those inside functions, since they run too; ``if TYPE_CHECKING:``
imports never run and are left out), plus the edges grimp cannot see: the
command modules ``wasi_lsp.cli`` loads by name from its COMMANDS table.
"""

from __future__ import annotations

import grimp

from conftest import REPO

PACKAGES = ("wasi_lsp", "wasi_lsp_guest", "rstls")


def import_graph() -> dict[str, set[str]]:
    import sys

    for folder in ("client", "server"):
        if str(REPO / folder) not in sys.path:
            sys.path.insert(0, str(REPO / folder))
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}
    from wasi_lsp.cli import COMMANDS

    edges["wasi_lsp.cli"] |= set(COMMANDS.values())
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:  # Tarjan's algorithm, iterative (no recursion limit on a deep graph)
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def describe(component: list[str], edges: dict[str, set[str]]) -> str:
    inside = set(component)
    return "\n".join(f"  {a} -> {b}" for a in component for b in sorted(edges[a] & inside))


def test_the_cycle_finder_finds_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(edges) == [["a", "b", "c"], ["e"]]


def test_client_and_server_import_graph_is_acyclic():
    edges = import_graph()
    assert "wasi_lsp.runtime" in edges and "rstls.server" in edges  # the graph is the real one
    found = cycles(edges)
    assert not found, "import cycles:\n" + "\n\n".join(describe(c, edges) for c in found)
