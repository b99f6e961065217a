"""``index metadata --check``: an index's publishable metadata against the GDI shapes.

The dataset's RDF is built exactly as the FAIR Data Point publishes it (the same
:mod:`mesh.fdp` code, with the index's facts) and validated by the same rule the
gateway applies before publishing (:func:`mesh.fdp.validate_dataset`).
"""

from __future__ import annotations

from pathlib import Path

from mesh.fdp import Problem, load_shapes, validate_dataset
from nodes.index.index_dir import read_metadata, read_publication


def check_index_metadata(index: Path, country: str, shapes: Path) -> list[Problem]:
    """Every reason the index's metadata would not be published, in plain words."""
    dataset = read_metadata(index).to_proto("", country, read_publication(index))
    return validate_dataset(dataset, load_shapes(shapes))
