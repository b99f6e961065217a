"""``index metadata --check``: an index's publishable metadata against the GDI shapes.

The dataset's RDF is built exactly as the FAIR Data Point publishes it (the same
:mod:`mesh.fdp` code, with the index's facts), then validated; a dataset without a
metadata file has one problem: the file is missing.
"""

from __future__ import annotations

from pathlib import Path

from mesh.fdp import Problem, Site, load_shapes, publication_graph, validate
from nodes.index_dir import PUBLICATION_FILE, read_metadata, read_publication

#: The base URL of the checked graph (any base gives the same verdict).
CHECK_BASE_URL = "https://fdp.invalid"


def check_index_metadata(index: Path, country: str, shapes: Path) -> list[Problem]:
    """Every reason the index's metadata would not be published, in plain words."""
    metadata = read_metadata(index)
    publication = read_publication(index)
    if publication is None:
        return [
            Problem(
                PUBLICATION_FILE,
                "missing: the index has no publishable metadata",
                "set one with index metadata DIR --set-from FILE",
            )
        ]
    dataset = metadata.to_proto("", country, publication)
    return validate(publication_graph(Site(CHECK_BASE_URL), dataset), load_shapes(shapes))
