"""The node's gRPC service on a real server, over indexes built from VCFs written here.

Expected counts come from the records this test generates (tests.vcf_factory), with
an independent trim for indels, never from the code under test.
"""

from __future__ import annotations

import random
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from mesh.v1 import (
    allele_pb2,
    allele_service_pb2,
    allele_service_pb2_grpc,
    catalog_service_pb2,
    catalog_service_pb2_grpc,
)
from nodes.build.builder import BuildOptions, build_index
from tests.background_loop import NodeHandle, node_config, running_node
from tests.count_helpers import as_tuple, pool_tuples
from tests.vcf_factory import GroupCounts, SiteRecord, expected_site_counts, write_sites_vcf

POPULATIONS = ["AFR", "NFE", "NFE_M", "NFE_F"]
GDI_POPULATIONS = ["NO", "SE", "NO_M", "NO_F"]
CONTIG_ORDER = {c: i for i, c in enumerate([*map(str, range(1, 23)), "X", "Y", "MT"])}


def trimmed(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Independent parsimony trim: common suffix, then common prefix, one anchor kept."""
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _group(rng: random.Random, n_alts: int) -> GroupCounts:
    an = rng.randrange(200, 2000, 2)
    ac, hom = [], []
    left = an
    for _ in range(n_alts):
        a = rng.randint(0, min(left, 60))
        left -= a
        ac.append(a)
        hom.append(rng.randint(0, a // 2))
    return GroupCounts(an=an, ac=ac, hom=hom)


def make_records(
    seed: int, count: int, shared: list[tuple[str, int]], populations: list[str] = POPULATIONS
) -> list[SiteRecord]:
    """Sites on 1, 2 and 17 (autosomes keep the het rule simple) incl. multi-allelics.

    ``populations`` is ``[A, B, A_M, A_F]``; the total is A + B.
    """
    first, second = populations[:2]
    rng = random.Random(seed)
    positions = set(shared)
    while len(positions) < count:
        positions.add((rng.choice(["1", "2", "17"]), rng.randrange(10_000, 5_000_000)))
    records = []
    for chrom, pos in sorted(positions, key=lambda p: (CONTIG_ORDER[p[0]], p[1])):
        prng = random.Random(f"{chrom}:{pos}")  # shared sites get the same alleles everywhere
        ref = prng.choice("ACGT") + prng.choice(["", "T", "GA"])
        kind = prng.random()
        if kind < 0.5:
            alts = [prng.choice([b for b in "ACGT" if b != ref[0]]) + ref[1:]]
        elif kind < 0.75:
            alts = [ref + "A", ref[0]] if len(ref) > 1 else [ref + "C", "G" if ref != "G" else "T"]
        else:
            alts = [ref[0] + "TT" + ref[1:]]
        groups = {p: _group(rng, len(alts)) for p in populations}
        a, b = groups[first], groups[second]
        assert a.hom is not None
        assert b.hom is not None
        total = GroupCounts(
            an=a.an + b.an,
            ac=[a.ac[i] + b.ac[i] for i in range(len(alts))],
            hom=[a.hom[i] + b.hom[i] for i in range(len(alts))],
        )
        records.append(SiteRecord(chrom, pos, ref, alts, total, groups))
    return records


def expected_by_key(records: list[SiteRecord]) -> dict[tuple[str, int, str, str], dict]:
    """``{(chrom, pos, ref, alt): {label: (AC, AN, hom, het, hemi)}}`` after trimming."""
    out = {}
    for rec in records:
        for alt, counts in zip(rec.alts, expected_site_counts(rec), strict=True):
            out[(rec.chrom, *trimmed(rec.pos, rec.ref, alt))] = counts
    return out


SHARED = [("1", 1_000_001), ("2", 2_000_002), ("17", 3_000_003)]


@pytest.fixture(scope="module")
def mesh_data(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("service")
    data = {}
    for dataset_id, seed, style, populations in (
        ("ds-gnomad", 1, "gnomad", POPULATIONS),
        ("ds-gdi", 2, "gdi", GDI_POPULATIONS),
    ):
        records = make_records(seed, 120, SHARED, populations)
        vcf = write_sites_vcf(
            root / f"{dataset_id}.vcf", records, populations, style=style, bgzip=True
        )
        out = root / dataset_id
        build_index(BuildOptions(inputs=[vcf], dataset_id=dataset_id, out=out, progress=False))
        data[dataset_id] = (out, records, expected_by_key(records))
    return data


@pytest.fixture(scope="module")
def node(mesh_data: dict):
    config = node_config([(i, v[0]) for i, v in mesh_data.items()])
    with running_node(config) as handle:
        yield handle


@pytest.fixture(scope="module")
def stub(node: NodeHandle):
    with node.channel() as channel:
        yield allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)


def variant(chrom: str, pos: int, ref: str, alt: str) -> allele_pb2.Variant:
    return allele_pb2.Variant(
        chromosome=chrom, position=pos, reference_bases=ref, alternate_bases=alt
    )


def all_expected(mesh_data: dict) -> dict[tuple, dict[str, dict]]:
    """``{key: {dataset_id: {label: counts}}}`` over both datasets."""
    merged: dict[tuple, dict[str, dict]] = {}
    for dataset_id, (_out, _records, expected) in mesh_data.items():
        for key, counts in expected.items():
            merged.setdefault(key, {})[dataset_id] = counts
    return merged


def test_every_variant_has_its_exact_counts(stub, mesh_data):
    expected = all_expected(mesh_data)
    for (chrom, pos, ref, alt), per_dataset in expected.items():
        response = stub.LookupVariant(
            allele_service_pb2.LookupVariantRequest(variant=variant(chrom, pos, ref, alt)),
            timeout=5,
        )
        got = {f.dataset_id: f for f in response.frequencies}
        assert set(got) == set(per_dataset), (chrom, pos, ref, alt)
        for dataset_id, labels in per_dataset.items():
            frequency = got[dataset_id]
            assert frequency.node_id == "no-oslo-1"
            assert frequency.country == "NO"
            assert (
                frequency.variant.chromosome,
                frequency.variant.position,
                frequency.variant.reference_bases,
                frequency.variant.alternate_bases,
            ) == (chrom, pos, ref, alt)
            assert as_tuple(frequency.counts) == labels[""]
            populations = {p.population: as_tuple(p.counts) for p in frequency.populations}
            assert populations == {k: v for k, v in labels.items() if k}
        pooled = pool_tuples(labels[""] for labels in per_dataset.values())
        assert as_tuple(response.pooled) == pooled
        assert response.pooled.allele_frequency == pytest.approx(
            pooled[0] / pooled[1] if pooled[1] and pooled[0] else 0.0
        )
        assert response.pooled.precision == allele_pb2.COUNT_PRECISION_EXACT
        [outcome] = response.outcomes
        assert outcome.node_id == "no-oslo-1"
        assert outcome.status.code == 0
        assert outcome.frequency_count == len(per_dataset)


def test_untrimmed_and_aliased_queries_meet_the_same_key(stub, mesh_data):
    indels = [k for k in all_expected(mesh_data) if len(k[2]) != len(k[3])]
    assert indels, "the generated data must hold indels"
    chrom, pos, ref, alt = indels[0]
    padded = stub.LookupVariant(
        allele_service_pb2.LookupVariantRequest(
            variant=variant(f"chr{chrom}", pos, ref.lower() + "gg", alt.lower() + "gg")
        ),
        timeout=5,
    )
    plain = stub.LookupVariant(
        allele_service_pb2.LookupVariantRequest(variant=variant(chrom, pos, ref, alt)), timeout=5
    )
    assert len(plain.frequencies) >= 1
    assert [as_tuple(f.counts) for f in padded.frequencies] == [
        as_tuple(f.counts) for f in plain.frequencies
    ]


def test_a_missing_variant_is_an_empty_answer(stub):
    response = stub.LookupVariant(
        allele_service_pb2.LookupVariantRequest(variant=variant("1", 999, "A", "C")), timeout=5
    )
    assert list(response.frequencies) == []
    assert as_tuple(response.pooled) == (0, 0, 0, 0, 0)
    assert response.outcomes[0].frequency_count == 0


def test_dataset_and_population_filters(stub, mesh_data):
    key = ("1", 1_000_001)
    expected = {k: v for k, v in all_expected(mesh_data).items() if k[:2] == key}
    (chrom, pos, ref, alt), per_dataset = next(iter(expected.items()))
    response = stub.LookupVariant(
        allele_service_pb2.LookupVariantRequest(
            variant=variant(chrom, pos, ref, alt), dataset_ids=["ds-gdi"], populations=["NO_M"]
        ),
        timeout=5,
    )
    [frequency] = response.frequencies
    assert frequency.dataset_id == "ds-gdi"
    assert [p.population for p in frequency.populations] == ["NO_M"]
    assert as_tuple(frequency.populations[0].counts) == per_dataset["ds-gdi"]["NO_M"]
    assert as_tuple(response.pooled) == per_dataset["ds-gdi"][""]


def test_batch_keeps_request_order_and_pools_per_variant(stub, mesh_data):
    expected = all_expected(mesh_data)
    keys = list(expected)
    random.Random(7).shuffle(keys)
    misses = [("1", 77, "A", "G"), ("X", 5_000_000, "C", "CA")]
    asked = keys[:150] + misses + keys[150:]
    response = stub.BatchLookupVariants(
        allele_service_pb2.BatchLookupVariantsRequest(variants=[variant(*k) for k in asked]),
        timeout=10,
    )
    assert len(response.results) == len(asked)
    for key, result in zip(asked, response.results, strict=True):
        v = result.variant
        assert (v.chromosome, v.position, v.reference_bases, v.alternate_bases) == key
        per_dataset = expected.get(key, {})
        assert {f.dataset_id: as_tuple(f.counts) for f in result.frequencies} == {
            d: c[""] for d, c in per_dataset.items()
        }
        assert as_tuple(result.pooled) == pool_tuples(c[""] for c in per_dataset.values())
    [outcome] = response.outcomes
    assert outcome.frequency_count == sum(len(v) for v in expected.values())


def page_through(stub, region: allele_pb2.Region, page_size: int, **kwargs) -> list:
    out, token, pages = [], "", 0
    while True:
        response = stub.SearchRegion(
            allele_service_pb2.SearchRegionRequest(
                region=region, page_size=page_size, page_token=token, **kwargs
            ),
            timeout=5,
        )
        pages += 1
        assert len(response.frequencies) <= page_size
        out.extend(response.frequencies)
        token = response.next_page_token
        if not token:
            return out
        assert pages < 1000


@pytest.mark.parametrize("page_size", [1, 7, 100, 1000])
def test_region_pages_return_every_allele_once_in_genomic_order(stub, mesh_data, page_size):
    region = allele_pb2.Region(chromosome="1", start=500_000, end=4_000_000)
    got = page_through(stub, region, page_size)
    expected = sorted(
        (k, dataset_id)
        for k, per_dataset in all_expected(mesh_data).items()
        if k[0] == "1" and 500_000 <= k[1] <= 4_000_000
        for dataset_id in per_dataset
    )
    seen = [
        (
            (
                f.variant.chromosome,
                f.variant.position,
                f.variant.reference_bases,
                f.variant.alternate_bases,
            ),
            f.dataset_id,
        )
        for f in got
    ]
    assert sorted(seen) == expected
    assert len(set(seen)) == len(seen)
    positions = [f.variant.position for f in got]
    assert positions == sorted(positions)


def test_region_bounds_are_inclusive(stub, mesh_data):
    region = allele_pb2.Region(chromosome="1", start=1_000_001, end=1_000_001)
    got = page_through(stub, region, 10)
    assert got
    assert all(f.variant.position == 1_000_001 for f in got)


def rich_error(error: grpc.RpcError) -> tuple[error_details_pb2.ErrorInfo, list[str]]:
    status = rpc_status.from_call(error)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    fields: list[str] = []
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            detail.Unpack(info)
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            fields += [v.field for v in bad.field_violations]
    return info, fields


def test_forged_and_replayed_page_tokens_are_refused(stub):
    region = allele_pb2.Region(chromosome="1", start=1, end=5_000_000)
    first = stub.SearchRegion(
        allele_service_pb2.SearchRegionRequest(region=region, page_size=2), timeout=5
    )
    assert first.next_page_token
    other = allele_pb2.Region(chromosome="2", start=1, end=5_000_000)
    with pytest.raises(grpc.RpcError) as replayed:
        stub.SearchRegion(
            allele_service_pb2.SearchRegionRequest(
                region=other, page_size=2, page_token=first.next_page_token
            ),
            timeout=5,
        )
    assert replayed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(replayed.value)[0].reason == "PAGE_TOKEN_QUERY_MISMATCH"
    forged = first.next_page_token[:-3] + (
        "AAA" if not first.next_page_token.endswith("AAA") else "BBB"
    )
    with pytest.raises(grpc.RpcError) as edited:
        stub.SearchRegion(
            allele_service_pb2.SearchRegionRequest(region=region, page_size=2, page_token=forged),
            timeout=5,
        )
    assert edited.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(edited.value)[0].reason == "INVALID_PAGE_TOKEN"


@pytest.mark.parametrize(
    ("bad", "field", "reason"),
    [
        (variant("1", 100, "AZ", "A"), "variant.reference_bases", "INVALID_BASES"),
        (variant("1", 100, "A", "A"), "variant", "SAME_ALLELES"),
        (variant("chr99", 100, "A", "C"), "variant.chromosome", "UNKNOWN_CHROMOSOME"),
        (variant("1", 300_000_000, "A", "C"), "variant.position", "POSITION_OUT_OF_RANGE"),
        (variant("1", 0, "A", "C"), "variant.position", "POSITION_OUT_OF_RANGE"),
    ],
)
def test_bad_variants_are_invalid_argument_naming_the_field(stub, bad, field, reason):
    with pytest.raises(grpc.RpcError) as caught:
        stub.LookupVariant(allele_service_pb2.LookupVariantRequest(variant=bad), timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info, fields = rich_error(caught.value)
    assert info.reason == reason
    assert any(f.startswith(field) for f in fields), fields


def test_bad_variant_in_a_batch_names_its_index(stub):
    variants = [variant("1", 100, "A", "C")] * 3 + [variant("1", 100, "A", "Q")]
    with pytest.raises(grpc.RpcError) as caught:
        stub.BatchLookupVariants(
            allele_service_pb2.BatchLookupVariantsRequest(variants=variants), timeout=5
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    _info, fields = rich_error(caught.value)
    assert fields
    assert fields[0].startswith("variants[3]")


def test_oversized_batch_is_refused_and_node_keeps_serving(stub):
    variants = [variant("1", 100 + i, "A", "C") for i in range(10_001)]
    with pytest.raises(grpc.RpcError) as caught:
        stub.BatchLookupVariants(
            allele_service_pb2.BatchLookupVariantsRequest(variants=variants), timeout=10
        )
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert rich_error(caught.value)[0].reason == "BATCH_TOO_LARGE"
    ok = stub.BatchLookupVariants(
        allele_service_pb2.BatchLookupVariantsRequest(variants=variants[:10_000]), timeout=10
    )
    assert len(ok.results) == 10_000


def test_malformed_request_bytes_are_invalid_argument(node):
    with node.channel() as channel:
        raw = channel.unary_unary("/mesh.v1.AlleleFrequencyService/LookupVariant")
        with pytest.raises(grpc.RpcError) as caught:
            raw(b"\xff\xff\xff\xff", timeout=5)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_missing_variant_and_unknown_dataset(stub):
    with pytest.raises(grpc.RpcError) as missing:
        stub.LookupVariant(allele_service_pb2.LookupVariantRequest(), timeout=5)
    assert missing.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as unknown:
        stub.LookupVariant(
            allele_service_pb2.LookupVariantRequest(
                variant=variant("1", 100, "A", "C"), dataset_ids=["nope"]
            ),
            timeout=5,
        )
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert "nope" in unknown.value.details()


def test_catalogue(node, mesh_data):
    with node.channel() as channel:
        catalog = catalog_service_pb2_grpc.CatalogServiceStub(channel)
        listed = catalog.ListDatasets(catalog_service_pb2.ListDatasetsRequest(), timeout=5)
        assert [d.id for d in listed.datasets] == ["ds-gdi", "ds-gnomad"]
        for dataset in listed.datasets:
            records = mesh_data[dataset.id][1]
            assert dataset.variant_count == sum(len(r.alts) for r in records)
            assert dataset.country == "NO"
            assert dataset.node_id == "no-oslo-1"
            assert dataset.assembly == allele_pb2.ASSEMBLY_GRCH38
            expected_populations = POPULATIONS if dataset.id == "ds-gnomad" else GDI_POPULATIONS
            assert set(expected_populations) <= set(dataset.populations)
            assert len(dataset.source_sha256) == 64
            assert dataset.created_time.seconds > 0
        first = catalog.ListDatasets(
            catalog_service_pb2.ListDatasetsRequest(page_size=1), timeout=5
        )
        second = catalog.ListDatasets(
            catalog_service_pb2.ListDatasetsRequest(page_size=1, page_token=first.next_page_token),
            timeout=5,
        )
        assert [d.id for d in (*first.datasets, *second.datasets)] == ["ds-gdi", "ds-gnomad"]
        assert not second.next_page_token
        grch37 = catalog.ListDatasets(
            catalog_service_pb2.ListDatasetsRequest(assembly=allele_pb2.ASSEMBLY_GRCH37), timeout=5
        )
        assert list(grch37.datasets) == []
        one = catalog.GetDataset(
            catalog_service_pb2.GetDatasetRequest(dataset_id="ds-gdi"), timeout=5
        )
        assert one.id == "ds-gdi"
        with pytest.raises(grpc.RpcError) as caught:
            catalog.GetDataset(catalog_service_pb2.GetDatasetRequest(dataset_id="x"), timeout=5)
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_and_reflection(node):
    with node.channel() as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", "mesh.v1.AlleleFrequencyService", "mesh.v1.CatalogService"):
            reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflect = reflection_pb2_grpc.ServerReflectionStub(channel)
        [reply] = list(
            reflect.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
            )
        )
        names = {s.name for s in reply.list_services_response.service}
        assert {"mesh.v1.AlleleFrequencyService", "mesh.v1.CatalogService"} <= names


def test_rebuild_is_picked_up_without_a_failed_request(tmp_path: Path):
    first = make_records(10, 30, SHARED)
    vcf = write_sites_vcf(tmp_path / "a.vcf", first, POPULATIONS, bgzip=True)
    out = tmp_path / "idx"
    build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=out, progress=False))
    chrom, pos = SHARED[0]
    rec = next(r for r in first if (r.chrom, r.pos) == (chrom, pos))
    key = (rec.chrom, *trimmed(rec.pos, rec.ref, rec.alts[0]))
    with running_node(node_config([("ds", out)])) as handle, handle.channel() as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        request = allele_service_pb2.LookupVariantRequest(variant=variant(*key))
        before = stub.LookupVariant(request, timeout=5)
        assert as_tuple(before.frequencies[0].counts) == expected_site_counts(rec)[0][""]
        rec.total.ac[0] += 1
        rec.total.an += 2
        vcf2 = write_sites_vcf(tmp_path / "b.vcf", first, POPULATIONS, bgzip=True)
        build_index(BuildOptions(inputs=[vcf2], dataset_id="ds", out=out, progress=False))
        for _ in range(20):  # the old version keeps answering until the swap
            assert stub.LookupVariant(request, timeout=5).frequencies
        assert handle.reload() == ["ds"]
        after = stub.LookupVariant(request, timeout=5)
        assert as_tuple(after.frequencies[0].counts) == expected_site_counts(rec)[0][""]
        assert after.frequencies[0].counts.allele_count == (
            before.frequencies[0].counts.allele_count + 1
        )
