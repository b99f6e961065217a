"""Printing ``rich`` tables to a terminal or a pipe, never cutting a number or an id.

On a terminal ``rich`` fits tables to the window. Written to a pipe or a file it
assumes 80 columns and squeezes cells into ``0.06…``; so for anything but a terminal
each table gets exactly the width its content needs (no truncation, no padding).
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console, RenderableType
from rich.measure import Measurement

#: Wide enough for any table allelemesh prints; only used to measure.
_MEASURE_WIDTH = 100_000


def print_table(table: RenderableType, file: TextIO | None = None) -> None:
    """Print ``table``: fitted to a terminal, or at its full natural width otherwise."""
    out = file if file is not None else sys.stdout
    if out.isatty():
        Console(file=out).print(table)
        return
    wide = Console(file=out, width=_MEASURE_WIDTH)
    width = Measurement.get(wide, wide.options, table).maximum
    Console(file=out, width=max(1, width)).print(table)
