"""The GDI user portal's own calls through a real gateway over three node processes.

The nodes serve GDI country files written by :mod:`tests.gdi_vcf` (sex-only and
country-of-birth labels side by side, ``AC_<L>_Het/Hom/Hemi``, a counts-only and a
frequency-only label); the portal's exact bodies go to ``/api/v2.0.0/g_variants``; each
answer is validated against the portal's contract (``gvariants.yaml``) and the official
Beacon v2 schemas, mapped the way the portal maps it (:mod:`tests.gdi_portal_client`)
and compared row by row with the counts the test computed from its own genotypes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.server import start_gateway
from mesh.config import GatewayConfig, PeerConfig
from mesh.config.http import HttpOptions
from mesh.model.genome import Assembly
from nodes.build.builder import BuildOptions, build_index
from tests import gdi_portal_client as portal
from tests.gateway.http import beacon_schemas as bs
from tests.gdi_vcf import Cohort, Row, Site, cohort, expected_rows, sites, write_gdi_vcf
from tests.mesh_harness import NodeProcess, node_process

pytestmark = pytest.mark.slow

GOE = "The Genome of Europe"
GOE_REF = "https://www.genomeofeurope.eu/"
SITES = sites(40)
#: Held by every dataset: the exact-variant queries (site 4 is an insertion).
SHARED = [SITES[0], SITES[1], SITES[4]]
#: Held only by the Norwegian datasets.
NO_ONLY = SITES[3]


@dataclass(frozen=True)
class DatasetSpec:
    id: str
    seed: int
    source: str = ""
    source_reference: str = ""
    #: An allow list that the (certificate-less) gateway is not on: withheld.
    restricted: bool = False


@dataclass(frozen=True)
class NodeSpec:
    id: str
    country: str
    datasets: tuple[DatasetSpec, ...]
    beacon_id: str = ""

    @property
    def expected_beacon_id(self) -> str:
        return self.beacon_id or f"org.allelemesh.{self.country.lower()}.{self.id}"


NODES = (
    NodeSpec(
        "fr-paris-1",
        "FR",
        (
            DatasetSpec("fr-goe", 1, GOE, GOE_REF),
            DatasetSpec("fr-cohort", 2),
            DatasetSpec("fr-restricted", 3, GOE, GOE_REF, restricted=True),
        ),
        beacon_id="org.example.fr.beacon",
    ),
    NodeSpec("no-oslo-1", "NO", (DatasetSpec("no-goe", 4, GOE, GOE_REF), DatasetSpec("no-bb", 5))),
    NodeSpec("lu-belval-1", "LU", (DatasetSpec("lu-goe", 6, GOE, GOE_REF), DatasetSpec("lu-x", 7))),
)
SPARE = NodeSpec("fi-hki-1", "FI", (DatasetSpec("fi-goe", 8, GOE, GOE_REF),))


def _held(spec: NodeSpec, seed: int) -> list[Site]:
    import random

    rng = random.Random(seed * 101)
    held = [s for s in SITES if s in SHARED or rng.random() < 0.7]
    if spec.country == "NO" and NO_ONLY not in held:
        held.append(NO_ONLY)
    if spec.country != "NO" and NO_ONLY in held:
        held.remove(NO_ONLY)
    return sorted(held, key=lambda s: s.pos)


@dataclass
class World:
    """Every dataset's cohort, and the node processes serving them."""

    cohorts: dict[str, Cohort]
    processes: dict[str, NodeProcess]

    def peers(self, specs: tuple[NodeSpec, ...] = NODES) -> tuple[PeerConfig, ...]:
        return tuple(
            PeerConfig(id=s.id, country=s.country, addresses=(self.processes[s.id].address,))
            for s in specs
        )


def _build(tmp: Path, spec: NodeSpec) -> tuple[Path, dict[str, Cohort]]:
    """Build the node's indexes and write its node.toml; return the config and cohorts."""
    cohorts = {}
    lines = ["[node]", f'id = "{spec.id}"', f'country = "{spec.country}"',
             'listen = "127.0.0.1:0"', "reload_interval_s = 0"]  # fmt: skip
    if spec.beacon_id:
        lines.append(f'beacon_id = "{spec.beacon_id}"')
    for d in spec.datasets:
        found = cohort(d.seed, 80, _held(spec, d.seed))
        cohorts[d.id] = found
        vcf = write_gdi_vcf(tmp / f"{d.id}.vcf", found)
        out = tmp / d.id
        build_index(
            BuildOptions(
                inputs=[vcf],
                dataset_id=d.id,
                out=out,
                title=f"{d.id} title",
                source=d.source,
                source_reference=d.source_reference,
            )
        )
        lines += ["", "[[datasets]]", f'id = "{d.id}"', f'index = "{out}"']
        if d.restricted:
            lines.append('allow = ["spiffe://allelemesh.example/country/*/node/*"]')
    config = tmp / f"{spec.id}.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config, cohorts


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("gdi-portal")
    with contextlib.ExitStack() as stack:
        cohorts: dict[str, Cohort] = {}
        processes = {}
        for spec in (*NODES, SPARE):
            config, built = _build(tmp, spec)
            cohorts.update(built)
            processes[spec.id] = stack.enter_context(
                node_process([], spec.id, spec.country, config=config)
            )
        yield World(cohorts, processes)


@contextlib.asynccontextmanager
async def gateway_http(
    peers: tuple[PeerConfig, ...], assembly: Assembly = Assembly.GRCH38, public_url: str = ""
) -> AsyncIterator[httpx.AsyncClient]:
    """A gateway (gRPC and HTTP) over ``peers``; a client on its HTTP API."""
    config = GatewayConfig(
        id="eu-gw-1",
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0",
        peers=peers,
        timeout_ms=3000,
        default_assembly=assembly,
        http=HttpOptions(public_url=public_url),
    )
    gateway = await start_gateway(config, insecure=True)
    try:
        assert gateway.http is not None
        async with httpx.AsyncClient(base_url=gateway.http.url, timeout=30) as client:
            yield client
    finally:
        await gateway.stop(grace=1.0)


def _valid(document: dict) -> dict:
    portal.validate(document)
    bs.assert_g_variants_valid(document)
    return document


async def post(client: httpx.AsyncClient, body: dict) -> dict:
    """The portal's call: its base URL is ``<gateway>/api``, it appends /v2.0.0/g_variants."""
    portal.validate(body, "BeaconRequest")
    response = await client.post("/api/v2.0.0/g_variants", json=body)
    assert response.status_code == 200, response.text
    return _valid(response.json())


# -- what the answers must be, from the cohorts ------------------------------------------


def _key(row: portal.PortalRow) -> tuple:
    return (row.dataset_id, row.start, row.ref, row.alt, row.population)


def _numbers(row: portal.PortalRow) -> tuple:
    return (row.allele_count, row.allele_number, row.homozygous, row.heterozygous,
            row.hemizygous)  # fmt: skip


def expected(world: World, specs: tuple[NodeSpec, ...], chosen: list[Site]) -> dict[tuple, tuple]:
    """``{(dataset, start, ref, alt, label): (beaconId, source, numbers, AF)}`` to see."""
    out = {}
    for spec in specs:
        for d in spec.datasets:
            if d.restricted:
                continue
            found = world.cohorts[d.id]
            for site in chosen:
                if site not in found.genotypes:
                    continue
                for label, row in expected_rows(found, site).items():
                    if row.af is None:
                        continue  # no frequency: not a Beacon frequency row
                    key = (d.id, site.pos - 1, site.ref, site.alt, label)
                    source = (d.source or f"{d.id} title", d.source_reference or None)
                    out[key] = (spec.expected_beacon_id, source, _row_numbers(row), row.af)
    return out


def _row_numbers(row: Row) -> tuple:
    return (row.ac, row.an, row.hom, row.het, row.hemi)


def check_rows(rows: list[portal.PortalRow], want: dict[tuple, tuple]) -> None:
    """Row by row: same rows, labels, counts (absent stays absent), AF, ids and sources."""
    got = {_key(r): r for r in rows}
    assert len(got) == len(rows), "two rows under one label"
    assert sorted(got) == sorted(want)
    for key, (beacon_id, (source, reference), numbers, af) in want.items():
        row = got[key]
        assert row.beacon_id == beacon_id, key
        assert _numbers(row) == numbers, key
        assert row.allele_frequency == pytest.approx(af, rel=1e-6), key
        assert row.chromosome == "21"
        assert row.end == row.start + len(row.ref)
        assert row.source == source, key
        if reference is not None:
            assert row.source_reference == reference, key
        else:
            assert row.source_reference.endswith(f"/api/datasets/{key[0]}"), key


# -- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assembly", "with_end"), [("GRCh38", False), (None, False), ("GRCh38", True)]
)
async def test_exact_variant_with_limit_1_gives_every_dataset_of_every_country(
    world: World, assembly: str | None, with_end: bool
):
    async with gateway_http(world.peers()) as client:
        for site in [*SHARED, NO_ONLY]:
            body = portal.exact_body("21", site.pos, site.ref, site.alt, assembly, end=with_end)
            document = await post(client, body)
            check_rows(portal.portal_rows(document), expected(world, NODES, [site]))
            sets = document["response"]["resultSets"]
            holders = {
                d.id for s in NODES for d in s.datasets
                if not d.restricted and site in world.cohorts[d.id].genotypes
            }  # fmt: skip
            assert {s["id"] for s in sets} == holders
            assert len(holders) == (2 if site is NO_ONLY else 6)
            assert all(s["setType"] == "dataset" and s["resultsCount"] == 1 for s in sets)
            summary = document["meta"]["receivedRequestSummary"]
            # assemblyId left out: the gateway's default_assembly, echoed.
            assert summary["requestParameters"]["g_variant"]["assemblyId"] == "GRCh38"


async def test_get_equivalent_gives_the_same_rows(world: World):
    site = SHARED[1]
    async with gateway_http(world.peers()) as client:
        posted = await post(client, portal.exact_body("21", site.pos, site.ref, site.alt))
        params = {
            "referenceName": "21",
            "start": str(site.pos - 1),
            "referenceBases": site.ref,
            "alternateBases": site.alt,
            "requestedGranularity": "record",
            "limit": "1",
        }
        response = await client.get("/api/v2.0.0/g_variants", params=params)
        assert response.status_code == 200, response.text
        got = portal.portal_rows(_valid(response.json()))
    assert sorted(got, key=_key) == sorted(portal.portal_rows(posted), key=_key)
    check_rows(got, expected(world, NODES, [site]))


async def test_position_range_limit_1000_gives_every_allele_of_each_dataset_in_order(
    world: World,
):
    start0, end0 = SITES[0].pos - 1, SITES[-1].pos
    async with gateway_http(world.peers()) as client:
        document = await post(client, portal.range_body("21", start0, end0))
        check_rows(portal.portal_rows(document), expected(world, NODES, SITES))
        for result_set in document["response"]["resultSets"]:
            starts = [r["variation"]["location"]["interval"]["start"]["value"]
                      for r in result_set["results"]]  # fmt: skip
            held = sorted(s.pos - 1 for s in world.cohorts[result_set["id"]].genotypes)
            assert starts == held  # every allele of the dataset, in genomic order
            assert result_set["info"]["pagination"]["hasMore"] is False
        assert document["info"]["pagination"]["hasMore"] is False

        # Smaller pages: limit counts alleles within each dataset; nextSkip is the next page.
        body = portal.range_body("21", start0, end0)
        body["query"]["pagination"]["limit"] = 7
        pages: dict[str, list[int]] = {}
        while True:
            page = await post(client, body)
            for result_set in page["response"]["resultSets"]:
                assert 1 <= len(result_set["results"]) <= 7
                pages.setdefault(result_set["id"], []).extend(
                    r["variation"]["location"]["interval"]["start"]["value"]
                    for r in result_set["results"]
                )
            paging = page["info"]["pagination"]
            if not paging["hasMore"]:
                break
            assert paging["nextSkip"] == body["query"]["pagination"]["skip"] + 7
            body["query"]["pagination"]["skip"] = paging["nextSkip"]
    for dataset_id, starts in pages.items():
        assert starts == sorted(s.pos - 1 for s in world.cohorts[dataset_id].genotypes)
    assert set(pages) == {d.id for s in NODES for d in s.datasets if not d.restricted}


async def test_default_assembly_is_used_when_assembly_id_is_left_out(world: World):
    site = SHARED[0]
    async with gateway_http(world.peers(), assembly=Assembly.GRCH37) as client:
        document = await post(client, portal.exact_body("21", site.pos, site.ref, site.alt, None))
        summary = document["meta"]["receivedRequestSummary"]["requestParameters"]["g_variant"]
        assert summary["assemblyId"] == "GRCh37"
        assert document["response"]["resultSets"] == []  # every dataset is GRCh38
        with_id = await post(client, portal.exact_body("21", site.pos, site.ref, site.alt))
        check_rows(portal.portal_rows(with_id), expected(world, NODES, [site]))


async def test_withheld_dataset_appears_in_info_with_its_outcome(world: World):
    site = SHARED[0]
    async with gateway_http(world.peers()) as client:
        document = await post(client, portal.exact_body("21", site.pos, site.ref, site.alt))
    assert "fr-restricted" not in {s["id"] for s in document["response"]["resultSets"]}
    withheld = document["info"]["withheldDatasets"]
    assert [(w["datasetId"], w["nodeId"], w["country"]) for w in withheld] == [
        ("fr-restricted", "fr-paris-1", "FR")
    ]
    assert withheld[0]["status"]["code_name"] == "PERMISSION_DENIED"


async def test_a_node_down_is_an_outcome_and_the_other_rows_are_unchanged(world: World):
    specs = (*NODES, SPARE)
    chosen = SHARED[:2]
    async with gateway_http(world.peers(specs)) as client:
        before = []
        for site in chosen:
            document = await post(client, portal.exact_body("21", site.pos, site.ref, site.alt))
            before += portal.portal_rows(document)
        check_rows(before, expected(world, specs, chosen))
        world.processes[SPARE.id].kill()
        after = []
        for site in chosen:
            document = await post(client, portal.exact_body("21", site.pos, site.ref, site.alt))
            after += portal.portal_rows(document)
            failed = document["info"]["failedNodes"]
            assert [(f["node_id"], f["country"]) for f in failed] == [(SPARE.id, "FI")]
            assert failed[0]["status"]["code_name"] in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
    kept = [r for r in before if r.dataset_id != "fi-goe"]
    assert sorted(after, key=_key) == sorted(kept, key=_key)
    check_rows(after, expected(world, NODES, chosen))


@pytest.mark.parametrize("path", ["/api/g_variants", "/api/v2.0.0/g_variants"])
async def test_bare_get_is_a_valid_result_sets_response(world: World, path: str):
    async with gateway_http(world.peers()) as client:
        response = await client.get(path)
    assert response.status_code == 200, response.text
    document = _valid(response.json())
    assert document["meta"]["returnedGranularity"] == "record"
    assert document["responseSummary"]["exists"] is False
    sets = document["response"]["resultSets"]
    # One empty set per dataset of the catalogue's assembly (fr-restricted is shown to
    # this caller by existence only: no assembly, so not among them).
    assert {s["id"] for s in sets} == {d.id for s in NODES for d in s.datasets if not d.restricted}
    assert all(s["exists"] is False and s["results"] == [] for s in sets)


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"referenceName": "21", "start": ["x"]}, "query.requestParameters.start"),
        ({"referenceName": "21", "start": [5], "end": [5]}, "query.requestParameters.end"),
        ({"referenceName": "chrQ", "start": [5], "end": [9]}, "query.requestParameters"),
    ],
)
async def test_bad_request_is_a_beacon_error_naming_the_problem(
    world: World, parameters: dict, field: str
):
    body = portal.exact_body("21", 1, "A", "T")
    body["query"]["requestParameters"] = parameters
    async with gateway_http(world.peers()) as client:
        response = await client.post("/api/v2.0.0/g_variants", json=body)
        problem = await client.get("/v1/variants/21-x-A-T")
    assert response.status_code == 400
    document = response.json()
    bs.assert_valid(bs.ERROR, document)
    assert document["error"]["errorCode"] == 400
    assert document["field"].startswith(field)
    assert document["error"]["errorMessage"] == document["detail"]
    # /v1 keeps RFC 7807 without Beacon's dress.
    assert problem.status_code == 400
    assert problem.headers["content-type"].startswith("application/problem+json")
    assert "meta" not in problem.json()


def test_world_labels_are_gdi_style(world: World):
    """The files hold sex-only and country-of-birth labels side by side (sanity)."""
    found = world.cohorts["fr-goe"]
    rows = expected_rows(found, SHARED[0])
    assert {"M", "F", "FR", "FR_M", "AFR_M", "DE", "Total"} <= set(rows)
    assert rows["F"].het is None  # counts-only label
    assert rows["DE"].ac is None  # frequency-only label


@pytest.mark.parametrize("base", ["/api", "/api/v2.0.0"])
async def test_what_egas_beacon_verifier_requests_and_checks(world: World, base: str):
    """The requests EGA's beacon-verifier-v2 makes (read from its source, run against this
    gateway on loopback during development) and the checks it failed on before."""
    config_peers = world.peers()
    async with gateway_http(config_peers, public_url="https://gateway.example/") as client:
        beacon_map = (await client.get(f"{base}/map")).json()
        endpoints = [
            url
            for entry in beacon_map["response"]["endpointSets"].values()
            for key, url in entry.items()
            if key == "rootUrl"
        ]
        assert any(url.endswith("/g_variants") for url in endpoints)
        info = (await client.get(f"{base}/info")).json()["response"]
        assert info["welcomeUrl"].startswith("https://")  # it wants an https welcomeUrl
        assert (await client.get(f"{base}/configuration")).status_code == 200
        assert "response" in (await client.get(f"{base}/filtering_terms")).json()
        document = (await client.get(f"{base}/g_variants")).json()
    assert document["response"]["resultSets"][0]["id"]  # it reads the first set's id
    meta = document["meta"]
    assert meta["returnedGranularity"] == "record"
    # It types meta.testMode as an object, the spec as a boolean: left out of meta, the
    # request's testMode is in receivedRequestSummary (a boolean in both).
    assert "testMode" not in meta
    assert meta["receivedRequestSummary"]["testMode"] is False
    for result_set in document["response"]["resultSets"]:
        assert isinstance(result_set["id"], str)
        assert isinstance(result_set["exists"], bool)
