"""The gateway's FAIR Data Point over a real mesh, crawled as the GDI portal's harvester does.

Four countries: NO (two datasets), FI, LU and SE, all with the sample metadata file, and
SE also with one dataset per mandatory field, each missing that field. The harvester's
crawl (root, then ``ldp:contains`` breadth first, each resource on its own with
``Accept: text/turtle``) must give a graph that conforms to every GDI shape, list
exactly each country's datasets in its catalog, and leave out every broken dataset.
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import to_isomorphic
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF

from gateway.server import RunningGateway, start_gateway
from mesh.config import FdpConfig, GatewayConfig
from tests.gateway.fdp.harness import (
    HEALTH,
    MANDATORY,
    MESH,
    SAMPLE,
    build,
    crawl,
    datasets_of,
    fetch,
    sample,
    shacl_report,
    shapes_dir,
    typed,
    without,
    write_metadata,
)
from tests.mesh_harness import NodeSpec, expected_totals, fast_settings, peer_of, random_sites
from tests.mesh_harness import running_nodes as start_nodes

FDP_O = "https://w3id.org/fdp/fdp-o#"


@dataclass
class World:
    specs: list[NodeSpec]
    #: dataset id -> number of distinct split alleles (numberOfRecords), computed here.
    records: dict[str, int]
    #: dataset id -> samples: half the largest AN (every site fully called), computed here.
    samples: dict[str, int]
    broken: dict[str, str]  # dataset id -> the field its metadata lacks


def broken_id(index: int) -> str:
    return f"se-bad-{index}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("fdp")
    records: dict[str, int] = {}
    samples: dict[str, int] = {}
    layout = {"NO": ["no-a", "no-b"], "FI": ["fi-a"], "LU": ["lu-a"], "SE": ["se-ok"]}
    indexes: dict[str, list[Path]] = {}
    for seed, (country, ids) in enumerate(layout.items()):
        for offset, dataset_id in enumerate(ids):
            sites = random_sites(random.Random(seed * 10 + offset), 15)
            records[dataset_id] = len(expected_totals(sites))
            samples[dataset_id] = max(s.total.an for s in sites) // 2
            out = build(root / country, dataset_id, metadata=SAMPLE, records=sites)
            indexes.setdefault(country, []).append(out)
    broken = {}
    for i, dropped in enumerate(sorted(MANDATORY)):
        meta = write_metadata(root / f"broken-{i}.toml", without(sample(), dropped))
        indexes["SE"].append(build(root / "SE", broken_id(i), metadata=meta, seed=100 + i))
        broken[broken_id(i)] = MANDATORY[dropped]
    specs = [NodeSpec(f"{c.lower()}-node", c, indexes[c]) for c in layout]
    return World(specs, records, samples, broken)


@contextlib.asynccontextmanager
async def mesh(specs: Sequence[NodeSpec]) -> AsyncIterator[tuple[dict, RunningGateway]]:
    async with start_nodes(specs) as nodes:
        config = GatewayConfig(
            id="gw-fdp",
            listen="127.0.0.1:0",
            http_listen="127.0.0.1:0",
            peers=tuple(peer_of(s.id, s.country, nodes[s.id].port) for s in specs),
            fdp=FdpConfig(shapes=shapes_dir()),
        )
        gateway = await start_gateway(config, insecure=True, settings=fast_settings())
        try:
            yield nodes, gateway
        finally:
            await gateway.stop(0)


async def test_the_harvester_crawl_conforms_and_lists_each_countrys_datasets(world, caplog):
    caplog.set_level(logging.INFO, logger="gateway.fdp")
    async with mesh(world.specs) as (_nodes, gateway):
        assert gateway.http is not None
        base = gateway.http.url
        async with httpx.AsyncClient(timeout=30) as http:
            union, documents = await crawl(http, f"{base}/fdp")

            conforms, report = shacl_report(union)
            assert conforms, report

            root = URIRef(f"{base}/fdp")
            assert (root, RDF.type, URIRef(FDP_O + "FAIRDataPoint")) in union
            assert (root, RDF.type, DCAT.DataService) in union
            catalogs = {f"{base}/fdp/catalog/{c}" for c in ("NO", "FI", "LU", "SE")}
            assert typed(union, DCAT.Catalog) == catalogs
            expected = {"NO": {"no-a", "no-b"}, "FI": {"fi-a"}, "LU": {"lu-a"}, "SE": {"se-ok"}}
            for country, ids in expected.items():
                url = f"{base}/fdp/catalog/{country}"
                assert datasets_of(documents[url], url) == {f"{base}/fdp/dataset/{i}" for i in ids}
            published = {f"{base}/fdp/dataset/{i}" for ids in expected.values() for i in ids}
            assert typed(union, DCAT.Dataset) == published
            assert set(documents) == {
                f"{base}/fdp",
                *catalogs,
                *published,
                *(p.replace("/dataset/", "/distribution/") for p in published),
            }

            # What the shapes do not require but the portal reads, per dataset.
            for dataset_id, count in world.records.items():
                subject = URIRef(f"{base}/fdp/dataset/{dataset_id}")
                assert union.value(subject, HEALTH.numberOfRecords) == Literal(
                    count, datatype=URIRef("http://www.w3.org/2001/XMLSchema#nonNegativeInteger")
                )
                assert (
                    union.value(subject, HEALTH.numberOfUniqueIndividuals).toPython()
                    == (world.samples[dataset_id])
                )
                country = dataset_id[:2].upper()
                alpha3 = {"NO": "NOR", "FI": "FIN", "LU": "LUX", "SE": "SWE"}[country]
                assert union.value(subject, DCTERMS.spatial) == URIRef(
                    f"http://publications.europa.eu/resource/authority/country/{alpha3}"
                )
                assert union.value(subject, DCTERMS.issued) is not None
                assert union.value(subject, HEALTH.hdab) is not None
                assert union.value(subject, DCTERMS.language) is not None
                distribution = union.value(subject, DCAT.distribution)
                assert union.value(distribution, DCTERMS["format"]) is not None
                service = union.value(distribution, DCAT.accessService)
                assert union.value(service, DCAT.endpointURL) == URIRef(f"{base}/api")
                assert (service, RDF.type, DCAT.DataService) in union
                identifier = str(union.value(subject, DCTERMS.identifier))
                assert re.fullmatch(rf"GDI-{country}-ALLELEMESH-\d+", identifier), identifier

            # Every broken dataset is left out, says why, and the operator was told.
            for dataset_id, field in world.broken.items():
                response = await http.get(f"{base}/fdp/dataset/{dataset_id}")
                assert response.status_code == 404
                assert f"{field}: missing" in response.json()["detail"], response.text
                assert URIRef(f"{base}/fdp/dataset/{dataset_id}") not in union.subjects()
            started = [r.getMessage() for r in caplog.records if "is not published" in r.message]
            for dataset_id, field in world.broken.items():
                assert any(f"dataset {dataset_id} " in m and f"{field}: missing" in m
                           for m in started), (dataset_id, started)  # fmt: skip
            metrics = (await http.get(f"{base}/metrics")).text
            assert re.search(r'mesh_fdp_datasets\{mesh_fdp_state="unpublished"\} 18(\.0)?', metrics)
            assert re.search(r'mesh_fdp_datasets\{mesh_fdp_state="published"\} 5(\.0)?', metrics)
            assert 'mesh_dataset_id="se-bad-0"' in metrics


async def test_json_ld_rdf_xml_and_turtle_are_the_same_graph(world):
    async with mesh(world.specs[:2]) as (_nodes, gateway):
        assert gateway.http is not None
        base = gateway.http.url
        async with httpx.AsyncClient(timeout=30) as http:
            _union, documents = await crawl(http, f"{base}/fdp")
            for url, turtle in documents.items():
                jsonld = await fetch(http, url, "application/ld+json")
                rdfxml = await fetch(http, url, "application/rdf+xml")
                assert len(turtle) > 5
                assert to_isomorphic(jsonld) == to_isomorphic(turtle), url
                assert to_isomorphic(rdfxml) == to_isomorphic(turtle), url
            by_param = await http.get(
                f"{base}/fdp?format=jsonld", headers={"Accept": "text/turtle"}
            )
            assert by_param.headers["content-type"].startswith("application/ld+json")
            browser = await http.get(f"{base}/fdp", headers={"Accept": "text/html,*/*;q=0.8"})
            assert browser.headers["content-type"].startswith("text/turtle")
            bad = await http.get(f"{base}/fdp?format=csv")
            assert bad.status_code == 400
            assert bad.json()["field"] == "format"
            refused = await http.get(f"{base}/fdp", headers={"Accept": "text/html"})
            assert refused.status_code == 406
            missing = await http.get(f"{base}/fdp/catalog/ZZ")
            assert missing.status_code == 404


async def test_a_node_down_its_catalog_is_served_from_the_cache_with_its_last_seen_time(world):
    async with mesh(world.specs[:2]) as (nodes, gateway):
        assert gateway.http is not None
        url = f"{gateway.http.url}/fdp/catalog/FI"
        async with httpx.AsyncClient(timeout=30) as http:
            fresh = await fetch(http, url)
            assert fresh.value(URIRef(url), MESH.servedFromCache) is None
            before_stop = datetime.now(UTC)
            await nodes["fi-node"].stop(0)
            await gateway.backend.catalog.refresh()
            cached = await fetch(http, url)
            catalog = URIRef(url)
            assert datasets_of(cached, url) == {f"{gateway.http.url}/fdp/dataset/fi-a"}
            assert cached.value(catalog, MESH.servedFromCache) == Literal(True)
            seen = cached.value(catalog, MESH.lastSeen)
            assert seen is not None
            assert seen.toPython() <= before_stop
            assert (before_stop - seen.toPython()).total_seconds() < 60
            root = await fetch(http, f"{gateway.http.url}/fdp")
            assert URIRef(url) in set(
                root.objects(None, URIRef("http://www.w3.org/ns/ldp#contains"))
            )
            dataset = await fetch(http, f"{gateway.http.url}/fdp/dataset/fi-a")
            assert (
                URIRef(f"{gateway.http.url}/fdp/dataset/fi-a"),
                RDF.type,
                DCAT.Dataset,
            ) in dataset


WEIRD = 'Ålesund "quoted" \\ back\\slash <b>not html</b> & ampersand\nsecond line — ✓ \U0001d53e'


async def test_quotes_newlines_non_ascii_and_angle_brackets_round_trip(tmp_path):
    data = sample()
    data["title"] = {"en": WEIRD, "nb": "Tittel «med» <vinkler>"}
    data["description"] = {"en": WEIRD + "\n\n" + '"""triple"""'}
    data["keywords"] = {"en": [WEIRD, "'single'"]}
    data["publisher"]["name"] = {"en": 'Helse Sør-Øst <HSØ> "RHF"'}
    meta = write_metadata(tmp_path / "weird.toml", data)
    index = build(tmp_path, "no-weird", metadata=meta)
    async with mesh([NodeSpec("no-node", "NO", [index])]) as (_nodes, gateway):
        assert gateway.http is not None
        url = f"{gateway.http.url}/fdp/dataset/no-weird"
        subject = URIRef(url)
        async with httpx.AsyncClient(timeout=30) as http:
            for accept in ("text/turtle", "application/ld+json", "application/rdf+xml"):
                graph: Graph = await fetch(http, url, accept)
                titles = {(str(t), t.language) for t in graph.objects(subject, DCTERMS.title)}
                assert titles == {(WEIRD, "en"), ("Tittel «med» <vinkler>", "nb")}, accept
                descriptions = {str(d) for d in graph.objects(subject, DCTERMS.description)}
                assert descriptions == {WEIRD + "\n\n" + '"""triple"""'}
                keywords = {str(k) for k in graph.objects(subject, DCAT.keyword)}
                assert {WEIRD, "'single'"} <= keywords
                publisher = graph.value(subject, DCTERMS.publisher)
                assert str(graph.value(publisher, FOAF.name)) == 'Helse Sør-Øst <HSØ> "RHF"'
            union, documents = await crawl(http, f"{gateway.http.url}/fdp")
            conforms, report = shacl_report(union)
            assert conforms, report
            # A gateway in front of one country's node is that country's FDP.
            root = documents[f"{gateway.http.url}/fdp"]
            contains = set(root.objects(None, URIRef("http://www.w3.org/ns/ldp#contains")))
            assert contains == {URIRef(f"{gateway.http.url}/fdp/catalog/NO")}
