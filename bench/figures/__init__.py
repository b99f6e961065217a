"""One module per figure; each has ``TITLE`` and ``run(workspace, done) -> Figure``.

``done`` holds the figures already measured in this run (the scale projection reads
the node and build figures from it).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from bench.figures import (
    annotate,
    build,
    gateway,
    http,
    node,
    scale,
    size,
    store,
    tracing,
    wan,
)
from bench.report import Figure
from bench.workspace import Workspace

Runner = Callable[[Workspace, dict[str, Figure]], Figure]

#: Figure key -> module, in report order.
FIGURES: dict[str, ModuleType] = {
    "store": store,
    "size": size,
    "node": node,
    "gateway": gateway,
    "wan": wan,
    "build": build,
    "tracing": tracing,
    "http": http,
    "annotate": annotate,
    "scale": scale,
}
