"""FDP tests' helpers: metadata files, indexes with them, a harvester-style crawl, SHACL.

The shapes are read from ``../shared/gdi-metadata/shapes`` (skipped outside CI when
absent) and loaded here the way their README says (a prefix preamble, then the nine
files as one Turtle document), independently of allelemesh's own loader.
"""

from __future__ import annotations

import copy
import functools
import random
import tomllib
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import tomli_w
from pyshacl import validate
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCAT, RDF

from tests.mesh_harness import random_sites, write_dataset
from tests.shared_files import shared_path
from tests.vcf_factory import SiteRecord

REPO = Path(__file__).resolve().parents[3]
SAMPLE = REPO / "samples" / "dataset-metadata.toml"
LDP = Namespace("http://www.w3.org/ns/ldp#")
MESH = Namespace("https://allelemesh.org/ns#")
HEALTH = Namespace("http://healthdataportal.eu/ns/health#")

_PREAMBLE = """
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix adms: <http://www.w3.org/ns/adms#> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix healthdcatap: <http://healthdataportal.eu/ns/health#> .
@prefix dcatap: <http://data.europa.eu/r5r/> .
@prefix dpv: <https://w3id.org/dpv#> .
"""

#: Metadata-file keys that the GDI model makes mandatory -> the field --check must name.
MANDATORY = {
    "title": "title",
    "description": "description",
    "identifier": "identifier",
    "publisher": "publisher",
    "creators": "creators",
    "access_rights": "access_rights",
    "applicable_legislation": "applicable_legislation",
    "health_categories": "health_categories",
    "themes": "themes",
    "hdab": "hdab",
    "languages": "languages",
    "publisher.name": "publisher.name",
    "creators.0.name": "creators.name",
    "hdab.name": "hdab.name",
    "contact_point.name": "contact_point.name",
    "contact_point.email": "contact_point.email",
    "publisher.contact_point.email": "publisher.contact_point.email",
    "hdab.contact_point.name": "hdab.contact_point.name",
}


def shapes_dir() -> Path:
    return shared_path("gdi-metadata", "shapes")


@functools.cache
def _shapes(directory: Path) -> Graph:
    files = sorted(directory.glob("*.ttl"))
    assert len(files) == 9, files
    text = _PREAMBLE + "\n".join(f.read_text(encoding="utf-8") for f in files)
    return Graph().parse(data=text, format="turtle")


def shacl_report(graph: Graph) -> tuple[bool, str]:
    """pySHACL against every GDI shape: (conforms, report text)."""
    conforms, _results, text = validate(graph, shacl_graph=_shapes(shapes_dir()))
    return bool(conforms), str(text)


def sample() -> dict[str, Any]:
    return tomllib.loads(SAMPLE.read_text(encoding="utf-8"))


def without(data: dict[str, Any], dotted: str) -> dict[str, Any]:
    """A deep copy of ``data`` without the key at ``dotted`` (``creators.0.name``)."""
    out = copy.deepcopy(data)
    *parents, last = dotted.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    del node[last]
    return out


def write_metadata(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def build(
    directory: Path,
    dataset_id: str,
    *,
    metadata: Path | None = None,
    records: Sequence[SiteRecord] | None = None,
    seed: int = 1,
) -> Path:
    """A real index from a VCF this writes (with ``metadata`` as its metadata file)."""
    records = records or random_sites(random.Random(seed), 12)
    return write_dataset(directory, dataset_id, records, metadata=metadata)


async def fetch(http: httpx.AsyncClient, url: str, accept: str = "text/turtle") -> Graph:
    """One document, as the harvester asks for it."""
    response = await http.get(url, headers={"Accept": accept})
    assert response.status_code == 200, (url, response.status_code, response.text)
    assert response.headers["content-type"].startswith(accept), response.headers
    rdf_format = {"text/turtle": "turtle", "application/ld+json": "json-ld"}.get(accept, "xml")
    return Graph().parse(data=response.text, format=rdf_format, publicID=url)


async def crawl(http: httpx.AsyncClient, root: str) -> tuple[Graph, dict[str, Graph]]:
    """BFS from the root over ``ldp:contains``, every resource fetched on its own."""
    union = Graph()
    documents: dict[str, Graph] = {}
    queue = deque([root])
    while queue:
        url = queue.popleft()
        if url in documents:
            continue
        assert len(documents) < 500, "crawl does not end"
        graph = await fetch(http, url)
        documents[url] = graph
        union += graph
        for member in graph.objects(None, LDP.contains):
            assert isinstance(member, URIRef)
            queue.append(str(member))
    return union, documents


def datasets_of(graph: Graph, catalog: str) -> set[str]:
    """The dataset IRIs a catalog document lists with ``dcat:dataset``."""
    return {str(o) for o in graph.objects(URIRef(catalog), DCAT.dataset)}


def typed(graph: Graph, kind: URIRef) -> set[str]:
    return {str(s) for s in graph.subjects(RDF.type, kind)}
