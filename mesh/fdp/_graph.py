"""The FAIR Data Point's resources as rdflib graphs, one graph per URL.

FDP v1.2 layout under a base URL (``https://gw.example``)::

    /fdp                      fdp-o:FAIRDataPoint, dcat:DataService: the root
    /fdp/catalog/{country}    dcat:Catalog: one country's datasets
    /fdp/dataset/{id}         dcat:Dataset, with its agents and contact points
    /fdp/distribution/{id}    dcat:Distribution, whose access service is the Beacon (/api)

Every document lists what it contains with ``ldp:contains`` on an ``ldp:DirectContainer``
(``<...#catalogs>``, ``<...#datasets>``, ``<...#distributions>``), so a harvester
crawls from the root alone; ``fdp-o:metadataCatalog``, ``dcat:dataset`` and
``dcat:distribution`` say the same in DCAT. Values come from ``mesh.v1.Dataset``
(the index's facts) and its ``metadata`` (the metadata file), never from anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from mesh.fdp._vocab import (
    ADMS,
    BEACON_SPEC,
    DCAT,
    DCAT_VERSION,
    DCATAP,
    DCTERMS,
    DISTRIBUTION_COMPLETED,
    DPV,
    EHDS,
    FDP,
    FDP_SPEC,
    FOAF,
    HEALTH,
    JSON_FILE_TYPE,
    LDP,
    MESH,
    PREFIXES,
    RDF,
    RDFS,
    VCARD,
    XSD,
    country_iri,
    country_name,
)
from mesh.model.genome import Assembly
from mesh.v1 import catalog_service_pb2

Dataset = catalog_service_pb2.Dataset


@dataclass(frozen=True)
class Site:
    """Who publishes the FDP and where: the base URL every IRI starts with."""

    base_url: str
    title: str = "allelemesh FAIR Data Point"
    description: str = (
        "Aggregated allele frequencies of national genomic data nodes, federated by "
        "allelemesh and searchable through a GA4GH Beacon v2."
    )
    publisher: str = "allelemesh federation"
    #: Path of the Beacon v2 API the distributions point at.
    beacon_path: str = "/api"

    def url(self, path: str) -> URIRef:
        return URIRef(self.base_url.rstrip("/") + path)

    @property
    def root(self) -> URIRef:
        return self.url("/fdp")

    def catalog(self, country: str) -> URIRef:
        return self.url(f"/fdp/catalog/{quote(country, safe='')}")

    def dataset(self, dataset_id: str) -> URIRef:
        return self.url(f"/fdp/dataset/{quote(dataset_id, safe='')}")

    def distribution(self, dataset_id: str) -> URIRef:
        return self.url(f"/fdp/distribution/{quote(dataset_id, safe='')}")

    @property
    def beacon(self) -> URIRef:
        return self.url(self.beacon_path)


@dataclass(frozen=True)
class CacheState:
    """A catalog served from the gateway's cache: when its node last answered."""

    last_seen: datetime


def new_graph() -> Graph:
    graph = Graph()
    for prefix, namespace in PREFIXES.items():
        graph.bind(prefix, namespace)
    return graph


def _texts(graph: Graph, subject: Node, predicate: URIRef, texts: Iterable[object]) -> None:
    for item in texts:
        text = getattr(item, "text", "")
        if text:
            graph.add((subject, predicate, Literal(text, lang=getattr(item, "language", None))))


def _iris(graph: Graph, subject: Node, predicate: URIRef, values: Iterable[str]) -> None:
    for value in values:
        if value:
            graph.add((subject, predicate, URIRef(value)))


def _time(value: datetime) -> Literal:
    return Literal(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), datatype=XSD.dateTime)


def _container(
    graph: Graph, subject: URIRef, fragment: str, relation: URIRef, members: Sequence[URIRef]
) -> None:
    """An ``ldp:DirectContainer`` in ``subject``'s document listing ``members``."""
    container = URIRef(f"{subject}#{fragment}")
    graph.add((container, RDF.type, LDP.DirectContainer))
    graph.add((container, DCTERMS.title, Literal(fragment.capitalize(), lang="en")))
    graph.add((container, LDP.membershipResource, subject))
    graph.add((container, LDP.hasMemberRelation, relation))
    for member in members:
        graph.add((container, LDP.contains, member))


def _publisher(graph: Graph, subject: URIRef, name: str) -> None:
    agent = BNode()
    graph.add((subject, DCTERMS.publisher, agent))
    graph.add((agent, RDF.type, FOAF.Agent))
    graph.add((agent, FOAF.name, Literal(name, lang="en")))


def root_graph(site: Site, countries: Sequence[str]) -> Graph:
    """The FDP root: the mesh's metadata service, listing one catalog per country."""
    graph = new_graph()
    root = site.root
    catalogs = [site.catalog(c) for c in countries]
    for kind in (FDP.FAIRDataPoint, DCAT.DataService, DCAT.Resource):
        graph.add((root, RDF.type, kind))
    graph.add((root, DCTERMS.title, Literal(site.title, lang="en")))
    graph.add((root, DCTERMS.description, Literal(site.description, lang="en")))
    _publisher(graph, root, site.publisher)
    graph.add((root, DCAT.endpointURL, root))
    graph.add((root, FDP.conformsToFdpSpec, URIRef(FDP_SPEC)))
    graph.add((root, DCATAP.applicableLegislation, URIRef(EHDS)))
    for catalog in catalogs:
        graph.add((root, FDP.metadataCatalog, catalog))
    _container(graph, root, "catalogs", FDP.metadataCatalog, catalogs)
    return graph


def catalog_graph(
    site: Site, country: str, datasets: Sequence[Dataset], cache: CacheState | None = None
) -> Graph:
    """One country's catalog: its published datasets (and, if cached, when last seen)."""
    graph = new_graph()
    catalog = site.catalog(country)
    name = country_name(country)
    members = [site.dataset(d.id) for d in datasets]
    graph.add((catalog, RDF.type, DCAT.Catalog))
    graph.add((catalog, RDF.type, DCAT.Resource))
    graph.add((catalog, DCTERMS.title, Literal(f"Allele frequencies: {name}", lang="en")))
    graph.add(
        (
            catalog,
            DCTERMS.description,
            Literal(f"Aggregated allele-frequency datasets served by {name}'s node.", lang="en"),
        )
    )
    graph.add((catalog, DCATAP.applicableLegislation, URIRef(EHDS)))
    graph.add((catalog, DCTERMS.isPartOf, site.root))
    _publisher(graph, catalog, site.publisher)
    spatial = country_iri(country)
    if spatial:
        graph.add((catalog, DCTERMS.spatial, URIRef(spatial)))
    for member in members:
        graph.add((catalog, DCAT.dataset, member))
    if datasets:
        modified = max(_modified(d) for d in datasets)
        if modified is not None:
            graph.add((catalog, DCTERMS.modified, _time(modified)))
    if cache is not None:
        graph.add((catalog, MESH.servedFromCache, Literal(True)))
        graph.add((catalog, MESH.lastSeen, _time(cache.last_seen)))
    _container(graph, catalog, "datasets", DCAT.dataset, members)
    return graph


def _modified(dataset: Dataset) -> datetime:
    if dataset.metadata.HasField("modified_time"):
        return dataset.metadata.modified_time.ToDatetime(UTC)
    return dataset.created_time.ToDatetime(UTC)


def _contact(graph: Graph, subject: Node, contact: catalog_service_pb2.ContactPoint) -> None:
    kind = BNode()
    graph.add((subject, DCAT.contactPoint, kind))
    graph.add((kind, RDF.type, VCARD.Kind))
    if contact.name:
        graph.add((kind, VCARD.fn, Literal(contact.name)))
    if contact.email:
        graph.add((kind, VCARD.hasEmail, URIRef(f"mailto:{contact.email}")))
    if contact.url:
        graph.add((kind, VCARD.hasURL, URIRef(contact.url)))


def _agent(
    graph: Graph, subject: Node, predicate: URIRef, agent: catalog_service_pb2.Agent
) -> None:
    node = BNode()
    graph.add((subject, predicate, node))
    graph.add((node, RDF.type, FOAF.Agent))
    _texts(graph, node, FOAF.name, agent.name)
    if agent.type:
        graph.add((node, DCTERMS.type, URIRef(agent.type)))
    if agent.email:
        graph.add((node, FOAF.mbox, URIRef(f"mailto:{agent.email}")))
    if agent.homepage:
        graph.add((node, FOAF.homepage, URIRef(agent.homepage)))
    if agent.HasField("contact_point"):
        _contact(graph, node, agent.contact_point)


def dataset_graph(site: Site, dataset: Dataset) -> Graph:
    """One dataset: the metadata file's fields and the index's facts."""
    graph = new_graph()
    subject = site.dataset(dataset.id)
    meta = dataset.metadata
    graph.add((subject, RDF.type, DCAT.Dataset))
    graph.add((subject, RDF.type, DCAT.Resource))
    _texts(graph, subject, DCTERMS.title, meta.title)
    _texts(graph, subject, DCTERMS.description, meta.description)
    if meta.identifier:
        graph.add((subject, DCTERMS.identifier, Literal(meta.identifier, datatype=XSD.string)))
    if meta.HasField("publisher"):
        _agent(graph, subject, DCTERMS.publisher, meta.publisher)
    for creator in meta.creators:
        _agent(graph, subject, DCTERMS.creator, creator)
    if meta.HasField("contact_point"):
        _contact(graph, subject, meta.contact_point)
    if meta.HasField("hdab"):
        _agent(graph, subject, HEALTH.hdab, meta.hdab)
    _iris(graph, subject, DCTERMS.accessRights, [meta.access_rights])
    _iris(graph, subject, DCATAP.applicableLegislation, meta.applicable_legislation)
    _iris(graph, subject, HEALTH.healthCategory, meta.health_categories)
    _iris(graph, subject, DCAT.theme, meta.themes)
    _texts(graph, subject, DCAT.keyword, meta.keywords)
    _iris(graph, subject, DCTERMS.language, meta.languages)
    _iris(graph, subject, ADMS.status, [meta.status])
    _iris(graph, subject, DCTERMS.conformsTo, meta.conforms_to)
    _iris(graph, subject, DPV.hasLegalBasis, meta.legal_basis)
    _iris(graph, subject, DCTERMS.type, meta.types)
    _iris(graph, subject, DCTERMS.isReferencedBy, meta.is_referenced_by)
    if meta.version:
        graph.add((subject, DCAT_VERSION, Literal(meta.version)))
    if meta.temporal_start or meta.temporal_end:
        period = BNode()
        graph.add((subject, DCTERMS.temporal, period))
        graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
        if meta.temporal_start:
            graph.add((period, DCAT.startDate, Literal(meta.temporal_start, datatype=XSD.date)))
        if meta.temporal_end:
            graph.add((period, DCAT.endDate, Literal(meta.temporal_end, datatype=XSD.date)))
    _index_facts(graph, subject, dataset)
    distribution = site.distribution(dataset.id)
    graph.add((subject, DCAT.distribution, distribution))
    _container(graph, subject, "distributions", DCAT.distribution, [distribution])
    return graph


def _index_facts(graph: Graph, subject: URIRef, dataset: Dataset) -> None:
    """What the index knows: counts, assembly, populations, dates, source digest."""
    graph.add(
        (
            subject,
            HEALTH.numberOfRecords,
            Literal(int(dataset.variant_count), datatype=XSD.nonNegativeInteger),
        )
    )
    if dataset.sample_count > 0:  # unknown is absent, never 0
        graph.add(
            (
                subject,
                HEALTH.numberOfUniqueIndividuals,
                Literal(int(dataset.sample_count), datatype=XSD.nonNegativeInteger),
            )
        )
    spatial = country_iri(dataset.country)
    if spatial:
        graph.add((subject, DCTERMS.spatial, URIRef(spatial)))
    if dataset.assembly:
        graph.add((subject, DCAT.keyword, Literal(str(Assembly.from_proto(dataset.assembly)))))
    if dataset.populations:
        graph.add(
            (subject, HEALTH.populationCoverage, Literal(", ".join(dataset.populations), lang="en"))
        )
    if dataset.HasField("created_time"):
        graph.add((subject, DCTERMS.issued, _time(dataset.created_time.ToDatetime(UTC))))
        graph.add((subject, DCTERMS.modified, _time(_modified(dataset))))
    if dataset.source_sha256:
        provenance = BNode()
        graph.add((subject, DCTERMS.provenance, provenance))
        graph.add((provenance, RDF.type, DCTERMS.ProvenanceStatement))
        graph.add(
            (
                provenance,
                RDFS.label,
                Literal(
                    "Aggregated allele counts indexed by allelemesh from VCF/BCF files "
                    f"with SHA-256 {dataset.source_sha256}",
                    lang="en",
                ),
            )
        )


def distribution_graph(site: Site, dataset: Dataset) -> Graph:
    """A dataset's distribution: its allele frequencies through the mesh's Beacon."""
    graph = new_graph()
    subject = site.distribution(dataset.id)
    beacon = site.beacon
    legislation = list(dataset.metadata.applicable_legislation) or [EHDS]
    graph.add((subject, RDF.type, DCAT.Distribution))
    title = f"{dataset.id}: allele frequencies (Beacon v2)"
    graph.add((subject, DCTERMS.title, Literal(title, lang="en")))
    graph.add(
        (
            subject,
            DCTERMS.description,
            Literal(
                "Aggregated allele counts and frequencies of this dataset, queried through "
                f"the federation's GA4GH Beacon v2 API (g_variants with datasetIds={dataset.id}).",
                lang="en",
            ),
        )
    )
    graph.add((subject, DCAT.accessURL, beacon))
    graph.add((subject, DCAT.accessService, beacon))
    graph.add((subject, DCTERMS.format, URIRef(JSON_FILE_TYPE)))
    graph.add((subject, ADMS.status, URIRef(DISTRIBUTION_COMPLETED)))
    _iris(graph, subject, DCATAP.applicableLegislation, legislation)
    if dataset.metadata.access_rights:
        graph.add((subject, DCTERMS.accessRights, URIRef(dataset.metadata.access_rights)))
    graph.add((beacon, RDF.type, DCAT.DataService))
    graph.add((beacon, DCTERMS.title, Literal("allelemesh GA4GH Beacon v2", lang="en")))
    graph.add((beacon, DCAT.endpointURL, beacon))
    graph.add((beacon, DCAT.endpointDescription, site.url("/openapi.json")))
    graph.add((beacon, DCTERMS.conformsTo, URIRef(BEACON_SPEC)))
    graph.add((beacon, DCAT.servesDataset, site.dataset(dataset.id)))
    return graph


def publication_graph(site: Site, dataset: Dataset) -> Graph:
    """A dataset's own documents together (dataset and distribution), for validation."""
    graph = dataset_graph(site, dataset)
    graph += distribution_graph(site, dataset)
    return graph
