"""Validating a dataset's published RDF against the GDI SHACL shapes, in plain words.

The GDI shapes are not part of allelemesh (they belong to the gdi-metadata repository):
:func:`load_shapes` reads the folder an operator names (``--shapes`` / ``[fdp] shapes``).
Its nine files are loaded as one Turtle document after a preamble of common prefixes
(``Identifier.ttl`` uses ``foaf:`` without declaring it), together with ``portal.ttl``:
the checks the portal's harvester needs that the shapes leave out.

:func:`validate` returns one :class:`Problem` per violation, naming the metadata-file
key (``publisher.contact_point.email``), what is wrong and what is allowed. pySHACL is
imported here only, when validating: never on the request path of a running server.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.term import Node

from mesh.errors import ConfigError
from mesh.fdp._graph import Site, publication_graph
from mesh.fdp._vocab import (
    ADMS,
    DCAT,
    DCATAP,
    DCTERMS,
    DPV,
    FOAF,
    HEALTH,
    PREFIXES,
    RDF,
    VCARD,
)
from mesh.v1 import catalog_service_pb2

Dataset = catalog_service_pb2.Dataset

PORTAL_SHAPES = Path(__file__).with_name("portal.ttl")
#: Where ``--check`` and the gateway find the GDI shapes when not told otherwise.
SHAPES_ENV = "ALLELEMESH_GDI_SHAPES"
#: The base URL of graphs built only to be validated (any base gives the same verdict).
VALIDATION_SITE = Site("https://fdp.invalid")
SHAPE_FILES = (
    "AgentCreator.ttl",
    "AgentHdab.ttl",
    "Catalog.ttl",
    "DataService.ttl",
    "Dataset.ttl",
    "Distribution.ttl",
    "Identifier.ttl",
    "Kind.ttl",
    "Resource.ttl",
)
_PREAMBLE_EXTRA = {
    "sh": "http://www.w3.org/ns/shacl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}

#: Predicate -> metadata-file key, by the kind of node it is on.
_DATASET_KEYS = {
    DCTERMS.title: "title",
    DCTERMS.description: "description",
    DCTERMS.identifier: "identifier",
    DCTERMS.publisher: "publisher",
    DCTERMS.creator: "creators",
    DCAT.contactPoint: "contact_point",
    HEALTH.hdab: "hdab",
    DCTERMS.accessRights: "access_rights",
    DCATAP.applicableLegislation: "applicable_legislation",
    HEALTH.healthCategory: "health_categories",
    DCAT.theme: "themes",
    DCAT.keyword: "keywords",
    DCTERMS.language: "languages",
    ADMS.status: "status",
    DCTERMS.conformsTo: "conforms_to",
    DPV.hasLegalBasis: "legal_basis",
    DCTERMS.type: "types",
    DCTERMS.isReferencedBy: "is_referenced_by",
    HEALTH.numberOfRecords: "number of records (from the index)",
    HEALTH.numberOfUniqueIndividuals: "number of unique individuals (from the index)",
}
_AGENT_KEYS = {
    FOAF.name: "name",
    DCTERMS.type: "type",
    FOAF.mbox: "email",
    FOAF.homepage: "homepage",
    DCAT.contactPoint: "contact_point",
}
_CONTACT_KEYS = {VCARD.fn: "name", VCARD.hasEmail: "email", VCARD.hasURL: "url"}


@dataclass(frozen=True)
class Problem:
    """One violation: the field, what is wrong, and what is allowed."""

    field: str
    problem: str
    allowed: str = ""

    def __str__(self) -> str:
        return f"{self.field}: {self.problem}" + (f" ({self.allowed})" if self.allowed else "")


@functools.cache
def load_shapes(directory: Path) -> Graph:
    """The GDI shapes in ``directory`` and allelemesh's portal checks, as one graph."""
    missing = [name for name in SHAPE_FILES if not (directory / name).is_file()]
    if missing:
        raise ConfigError(
            f"GDI metadata shapes: {directory} lacks {', '.join(missing)}; point at the "
            "shapes folder of the gdi-metadata repository"
        )
    prefixes = {**{k: str(v) for k, v in PREFIXES.items()}, **_PREAMBLE_EXTRA}
    preamble = "".join(f"@prefix {k}: <{v}> .\n" for k, v in prefixes.items())
    text = preamble + "\n".join(
        (directory / name).read_text(encoding="utf-8") + "\n" for name in SHAPE_FILES
    )
    graph = Graph()
    try:
        graph.parse(data=text, format="turtle")
        graph.parse(PORTAL_SHAPES, format="turtle")
    except Exception as exc:  # rdflib raises several parser exception types
        raise ConfigError(f"GDI metadata shapes in {directory} do not parse: {exc}") from exc
    return graph


def validate(data: Graph, shapes: Graph) -> list[Problem]:
    """Every violation of ``shapes`` in ``data``, in plain words, sorted by field."""
    from pyshacl import validate as shacl_validate  # slow import: only when validating

    conforms, results, _text = shacl_validate(
        data, shacl_graph=shapes, inference="none", abort_on_first=False, allow_warnings=True
    )
    if conforms:
        return []
    assert isinstance(results, Graph)
    problems = {
        _problem(data, shapes, results, result)
        for result in results.subjects(RDF.type, SH.ValidationResult)
        if results.value(result, SH.resultSeverity) == SH.Violation
        # An agent or contact point that fails its sh:node shape is also a target of
        # that shape (typed foaf:Agent / vcard:Kind): its own results name the field.
        and results.value(result, SH.sourceConstraintComponent) != SH.NodeConstraintComponent
    }
    return sorted(problems, key=lambda p: (p.field, p.problem))


def validate_dataset(dataset: Dataset, shapes: Graph | None) -> list[Problem]:
    """Why ``dataset`` may not be published (empty: it may); ``shapes=None``: no SHACL."""
    if dataset.existence_only:
        return [
            Problem(
                "metadata",
                "withheld: the dataset's node shows this caller only that the dataset exists",
                "let the gateway query the dataset ([[datasets]] allow), or "
                "catalog_visibility = full",
            )
        ]
    if not dataset.HasField("metadata"):
        return [
            Problem(
                "metadata file",
                "missing: the dataset has no publishable metadata",
                "give its index one with index metadata DIR --set-from FILE",
            )
        ]
    if shapes is None:
        return []
    return validate(publication_graph(VALIDATION_SITE, dataset), shapes)


def _field(data: Graph, focus: Node, path: Node | None) -> str:
    """The metadata-file key of ``path`` on ``focus`` (``publisher.contact_point.email``)."""
    prefix, keys = _role(data, focus)
    key = keys.get(path, str(path)) if isinstance(path, URIRef) else str(path)
    return f"{prefix}.{key}" if prefix else key


def _role(data: Graph, focus: Node) -> tuple[str, dict[URIRef, str]]:
    if (focus, RDF.type, DCAT.Distribution) in data:
        return "distribution", {}
    if (focus, RDF.type, DCAT.DataService) in data:
        return "distribution.access_service", {}
    if (focus, RDF.type, DCAT.Dataset) in data:
        return "", _DATASET_KEYS
    for subject, predicate in data.subject_predicates(focus):
        if predicate == DCAT.contactPoint:
            owner, _ = _role(data, subject)
            return (f"{owner}.contact_point" if owner else "contact_point"), _CONTACT_KEYS
        key = _DATASET_KEYS.get(predicate) if isinstance(predicate, URIRef) else None
        if key is not None:
            return key, _AGENT_KEYS
    return str(focus), {}


def _problem(data: Graph, shapes: Graph, results: Graph, result: Node) -> Problem:
    focus = results.value(result, SH.focusNode)
    path = results.value(result, SH.resultPath)
    component = results.value(result, SH.sourceConstraintComponent)
    shape = results.value(result, SH.sourceShape)
    field = _field(data, focus, path) if focus is not None else str(path)
    description = str(shapes.value(shape, SH.description) or "") if shape is not None else ""
    value = results.value(result, SH.value)
    if component == SH.MinCountConstraintComponent:
        return Problem(field, "missing", description)
    if component == SH.InConstraintComponent and shape is not None:
        choices = shapes.value(shape, SH["in"])
        allowed = ", ".join(str(c) for c in Collection(shapes, choices)) if choices else ""
        return Problem(field, f"{value} is not allowed", f"one of: {allowed}")
    if component == SH.PatternConstraintComponent and shape is not None:
        message = results.value(result, SH.resultMessage)
        pattern = shapes.value(shape, SH.pattern)
        return Problem(field, f"{value!s} has the wrong form", str(message or f"pattern {pattern}"))
    if component == SH.MaxCountConstraintComponent:
        return Problem(field, "given more than once", description)
    message = results.value(result, SH.resultMessage)
    return Problem(field, str(message or component), description)
