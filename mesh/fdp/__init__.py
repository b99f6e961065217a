"""The FAIR Data Point: the dataset catalogue the GDI portal harvests, built with rdflib.

Shared by the gateway (the mesh-wide FDP) and the node (its metadata file and
``index metadata --check``); servers mount it, nothing here serves HTTP::

    meta = parse_metadata_text(path.read_text(), str(path))   # the metadata file
    dataset.metadata.CopyFrom(resolve_metadata(meta, dataset.id, "NO", "GRCh38"))
    site = Site("https://gw.example")
    graph = dataset_graph(site, dataset)                       # one resource per URL
    body = serialize(graph, choose_format(accept, format_param))
    problems = validate(publication_graph(site, dataset), load_shapes(shapes_dir))

* :mod:`._metadata_file`: the metadata file's keys, types and placeholders;
* :mod:`._graph`: the FDP root, a catalog per country, each dataset and distribution;
* :mod:`._validate`: the GDI SHACL shapes (pySHACL, imported lazily) in plain words;
* :mod:`._negotiate`: Turtle (default), JSON-LD and RDF/XML.
"""

from mesh.fdp._graph import (
    CacheState,
    Site,
    catalog_graph,
    dataset_graph,
    distribution_graph,
    publication_graph,
    root_graph,
)
from mesh.fdp._metadata_file import id_digits, parse_metadata_text, resolve_metadata
from mesh.fdp._negotiate import FORMATS, FormatError, RdfFormat, choose_format, serialize
from mesh.fdp._validate import (
    SHAPES_ENV,
    VALIDATION_SITE,
    Problem,
    load_shapes,
    validate,
    validate_dataset,
)

__all__ = [
    "FORMATS",
    "SHAPES_ENV",
    "VALIDATION_SITE",
    "CacheState",
    "FormatError",
    "Problem",
    "RdfFormat",
    "Site",
    "catalog_graph",
    "choose_format",
    "dataset_graph",
    "distribution_graph",
    "id_digits",
    "load_shapes",
    "parse_metadata_text",
    "publication_graph",
    "resolve_metadata",
    "root_graph",
    "serialize",
    "validate",
    "validate_dataset",
]
