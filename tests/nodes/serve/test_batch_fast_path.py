"""The batch fast path (nodes.serve.lookup) against the general path, over hand-written indexes.

Indexes are written here with :meth:`~nodes.index.records.ValueCodec.encode_value` (not the
builder), so the stored bytes are known. Every fast-path answer must be byte-identical to
the general (released) path and agree with one ``LookupVariant`` per variant.
"""

from __future__ import annotations

from pathlib import Path

import lmdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesh.errors import InvalidArgumentError
from mesh.model.genome import Assembly
from mesh.model.variants import VariantKey
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.index.index_dir import DatasetMetadata, write_metadata
from nodes.index.keys import encode_key
from nodes.index.records import ValueCodec
from nodes.serve.lookup import LocalLookup, NodeIdentity
from nodes.serve.policy import AccessRule, DatasetPolicy, Granularity
from nodes.serve.store import IndexStore

# (chromosome, position, ref, alt) stored in the indexes, canonical and normalized.
STORED = [
    ("1", 100, "A", "G"),
    ("1", 100, "A", "AT"),
    ("1", 250, "CT", "C"),
    ("2", 5_000, "G", "T"),
    ("X", 77, "T", "C"),
    ("MT", 12, "A", "G"),
    ("17", 4_000_000, "ACG", "TTA"),
]


GROUPS = ("", "NFE")


def _frequency(dataset: str, variant: tuple[str, int, str, str], seed: int):
    chrom, pos, ref, alt = variant
    ac, an = 3 + seed, 1_000 + 17 * seed
    counts = allele_pb2.AlleleCounts(
        allele_count=ac,
        allele_number=an,
        allele_frequency=ac / an,
        homozygous_count=seed % 3,
        heterozygous_count=ac - 2 * (seed % 3),
        hemizygous_count=seed % 2,
        precision=allele_pb2.COUNT_PRECISION_EXACT,
    )
    return allele_pb2.VariantFrequency(
        variant=allele_pb2.Variant(
            chromosome=chrom, position=pos, reference_bases=ref, alternate_bases=alt
        ),
        dataset_id=dataset,
        counts=counts,
        populations=[allele_pb2.PopulationFrequency(population="NFE", counts=counts)],
    )


def _write_index(root: Path, dataset: str, variants, offset: int) -> Path:
    path = root / dataset
    path.mkdir()
    env = lmdb.open(str(path), map_size=1 << 24, subdir=True)
    codec = ValueCodec(dataset, GROUPS)
    with env.begin(write=True) as txn:
        for i, variant in enumerate(variants):
            txn.put(
                encode_key(VariantKey(*variant)),
                codec.encode_value(_frequency(dataset, variant, i + offset)),
            )
    env.close()
    metadata = DatasetMetadata(id=dataset, assembly=Assembly.GRCH38, groups=list(GROUPS))
    write_metadata(path, metadata)
    return path


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    root = tmp_path_factory.mktemp("indexes")
    one = IndexStore([("ds-a", _write_index(root, "ds-a", STORED, 0), False)])
    two = IndexStore(
        [
            ("ds-a", root / "ds-a", False),
            ("ds-b", _write_index(root, "ds-b", STORED[::2], 5), False),
        ]
    )
    yield one, two
    one.close()
    two.close()


def _request(variants, **fields) -> allele_service_pb2.BatchLookupVariantsRequest:
    return allele_service_pb2.BatchLookupVariantsRequest(
        assembly=allele_pb2.ASSEMBLY_GRCH38,
        variants=[
            allele_pb2.Variant(chromosome=c, position=p, reference_bases=r, alternate_bases=a)
            for c, p, r, a in variants
        ],
        **fields,
    )


def _general(lookup: LocalLookup, request) -> bytes:
    """The answer of the general (released) path for the same request."""
    assembly = lookup.assembly_of(request.assembly)
    keys, echoes = lookup.batch_keys(request.SerializeToString(), request.variants, assembly)
    datasets = lookup.select(assembly, request.dataset_ids).datasets
    values = [d.index.get_many(keys) for d in datasets]
    return lookup._batch_released(echoes, datasets, values, frozenset(), None)[0]


ASKED = [
    ("1", 100, "A", "G"),
    ("chr1", 100, "A", "AT"),  # alias: echoed with the canonical name
    ("1", 250, "CT", "C"),
    ("chr2", 5_000, "G", "T"),
    ("chrX", 77, "T", "C"),
    ("chrM", 12, "A", "G"),
    ("17", 4_000_000, "ACG", "TTA"),
    ("17", 4_000_000, "ACGT", "TTAT"),  # trimmed to the stored key: slow path
    ("1", 100, "a", "g"),  # lower case: slow path
    ("3", 1_000, "C", "T"),  # absent
    ("NC_000001.11", 100, "A", "G"),  # RefSeq accession: slow path
]


@pytest.mark.parametrize("which", [0, 1], ids=["one dataset", "two datasets"])
def test_fast_path_matches_general_path_byte_for_byte(stores, which):
    lookup = LocalLookup(stores[which], NodeIdentity("node-1", "NO"))
    request = _request(ASKED)
    result = lookup.batch_lookup(request)
    assert result.payload == _general(lookup, request)
    response = allele_service_pb2.BatchLookupVariantsResponse.FromString(result.payload)
    assert len(response.results) == len(ASKED)
    assert result.frequency_count == sum(len(r.frequencies) for r in response.results)
    for asked, row in zip(ASKED, response.results, strict=True):
        single = allele_service_pb2.LookupVariantResponse.FromString(
            lookup.lookup_variant(
                allele_service_pb2.LookupVariantRequest(
                    assembly=allele_pb2.ASSEMBLY_GRCH38, variant=_request([asked]).variants[0]
                )
            ).payload
        )
        assert list(row.frequencies) == list(single.frequencies)
        assert row.pooled == single.pooled
        assert row.variant.chromosome in {"1", "2", "3", "17", "X", "MT"}


def test_trailer_ends_the_payload_and_sees_the_count(stores):
    lookup = LocalLookup(stores[0], NodeIdentity("node-1", "NO"))
    request = _request(ASKED)
    seen = []

    def trailer(found: int, dataset_outcomes: bytes) -> bytes:
        assert dataset_outcomes == b""  # open datasets: nothing to report
        seen.append(found)
        return b"\x12\x00"  # an empty outcome

    result = lookup.batch_lookup(request, trailer=trailer)
    plain = lookup.batch_lookup(request)
    assert result.payload == plain.payload + b"\x12\x00"
    assert seen == [plain.frequency_count]


def test_pooled_counts_of_the_fast_path_are_the_header_sums(stores):
    lookup = LocalLookup(stores[1], NodeIdentity("node-1", "NO"))
    response = allele_service_pb2.BatchLookupVariantsResponse.FromString(
        lookup.batch_lookup(_request(STORED)).payload
    )
    for row in response.results:
        total = sum(f.counts.allele_count for f in row.frequencies)
        number = sum(f.counts.allele_number for f in row.frequencies)
        assert row.pooled.allele_count == total
        assert row.pooled.allele_number == number
        assert row.pooled.allele_frequency == total / number
        assert row.pooled.precision == allele_pb2.COUNT_PRECISION_EXACT
        assert all(f.node_id == "node-1" and f.country == "NO" for f in row.frequencies)


def test_restricted_datasets_take_the_general_path(stores):
    policy = DatasetPolicy(rules=(AccessRule("*", Granularity.COUNT),))
    lookup = LocalLookup(stores[0], NodeIdentity("node-1", "NO"), policies={"ds-a": policy})
    response = allele_service_pb2.BatchLookupVariantsResponse.FromString(
        lookup.batch_lookup(_request(STORED)).payload
    )
    assert all(not f.populations for r in response.results for f in r.frequencies)


def test_bad_variants_name_their_index(stores):
    lookup = LocalLookup(stores[0], NodeIdentity("node-1", "NO"))
    with pytest.raises(InvalidArgumentError) as caught:
        lookup.batch_lookup(_request([("1", 100, "A", "G"), ("chr1", 0, "A", "G")]))
    assert caught.value.field == "variants[1].position"


def _keys(lookup: LocalLookup, variant: allele_pb2.Variant) -> tuple[list[bytes], list[bytes]]:
    """The batch keys of a one-variant request, from its bytes (the servicer's way)."""
    request = allele_service_pb2.BatchLookupVariantsRequest(variants=[variant])
    return lookup.batch_keys(request.SerializeToString(), request.variants, Assembly.GRCH38)


chromosomes = st.sampled_from(["1", "chr1", "Chr2", "CHRX", "chrM", "MT", "M", "x", "chr23", "7"])
bases = st.text(alphabet="ACGTNacgt*<", min_size=0, max_size=5)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chrom=chromosomes,
    pos=st.integers(min_value=-2, max_value=250_000_000),
    ref=bases,
    alt=bases,
)
def test_fast_keys_equal_the_validated_normalized_keys(stores, chrom, pos, ref, alt):
    lookup = LocalLookup(stores[0], NodeIdentity("node-1", "NO"))
    variant = allele_pb2.Variant(
        chromosome=chrom, position=pos, reference_bases=ref, alternate_bases=alt
    )
    try:
        expected_key = lookup.variant_key(variant, Assembly.GRCH38)
    except InvalidArgumentError as error:
        expected_error = error
    else:
        expected_error = None
    if expected_error is not None:
        with pytest.raises(InvalidArgumentError) as caught:
            _keys(lookup, variant)
        assert caught.value.field == f"variants[0].{expected_error.field}"
        assert caught.value.message.endswith(expected_error.message)
        return
    keys, echoes = _keys(lookup, variant)
    assert keys == [encode_key(expected_key)]
    echoed = allele_pb2.Variant.FromString(echoes[0])
    assert (echoed.chromosome, echoed.position, echoed.reference_bases, echoed.alternate_bases) == (
        expected_key.chromosome,
        expected_key.position,
        expected_key.ref,
        expected_key.alt,
    )
