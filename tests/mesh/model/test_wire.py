"""The hand-rolled encoders must produce bytes that protobuf parses to the same message."""

from __future__ import annotations

import pytest
from google.rpc import status_pb2
from hypothesis import given
from hypothesis import strategies as st

from mesh.model import wire
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2
from tests.count_helpers import FIELDS

counts = st.one_of(st.none(), st.integers(min_value=0, max_value=2**40))


@given(
    ac=counts,
    an=counts,
    hom=counts,
    het=counts,
    hemi=counts,
    precision=st.sampled_from([0, 1, 2, 3]),
    af=st.one_of(st.none(), st.floats(min_value=0, max_value=1)),
)
def test_allele_counts_parses_to_the_same_message(ac, an, hom, het, hemi, precision, af):
    encoded = wire.allele_counts(ac, an, hom, het, hemi, precision, af)
    parsed = allele_pb2.AlleleCounts.FromString(encoded)
    # Presence is kept: None is absent, a 0 is a present 0.
    for name, value in zip(FIELDS, (ac, an, hom, het, hemi), strict=True):
        assert parsed.HasField(name) == (value is not None)
        assert getattr(parsed, name) == (value or 0)
    assert parsed.precision == precision
    expected_af = ac / an if ac is not None and an else af
    assert parsed.HasField("allele_frequency") == (expected_af is not None)
    assert parsed.allele_frequency == (expected_af or 0.0)


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_varint_matches_protobuf(value):
    # allele_count has explicit presence: a set 0 is encoded too.
    reference = allele_pb2.AlleleCounts(allele_count=value).SerializeToString()
    assert wire.varint(value) == reference[1:]


def test_negative_varint_is_twos_complement():
    reference = allele_pb2.Variant(position=-1).SerializeToString()
    assert wire.tag(2, wire.WIRE_VARINT) + wire.varint(-1) == reference


@given(node_id=st.text(max_size=40), country=st.text(max_size=4))
def test_identity_fields_merge_into_a_stored_frequency(node_id, country):
    stored = allele_pb2.VariantFrequency(
        variant=allele_pb2.Variant(
            chromosome="1", position=5, reference_bases="A", alternate_bases="T"
        ),
        dataset_id="ds",
    ).SerializeToString()
    merged = allele_pb2.VariantFrequency.FromString(
        stored + wire.node_identity_fields(node_id, country)
    )
    assert merged.node_id == node_id
    assert merged.country == country
    assert merged.dataset_id == "ds"
    assert merged.variant.position == 5


# (the key's name, a message with only that field set): protobuf writes the key first.
_KEYED = [
    ("AC_TAG", allele_pb2.AlleleCounts(allele_count=1)),
    ("AN_TAG", allele_pb2.AlleleCounts(allele_number=1)),
    ("AF_TAG", allele_pb2.AlleleCounts(allele_frequency=0.5)),
    ("HOM_TAG", allele_pb2.AlleleCounts(homozygous_count=1)),
    ("HET_TAG", allele_pb2.AlleleCounts(heterozygous_count=1)),
    ("HEMI_TAG", allele_pb2.AlleleCounts(hemizygous_count=1)),
    ("PRECISION_TAG", allele_pb2.AlleleCounts(precision=allele_pb2.COUNT_PRECISION_ROUNDED)),
    ("CHROMOSOME_TAG", allele_pb2.Variant(chromosome="1")),
    ("POSITION_TAG", allele_pb2.Variant(position=5)),
    ("REFERENCE_BASES_TAG", allele_pb2.Variant(reference_bases="A")),
    ("ALTERNATE_BASES_TAG", allele_pb2.Variant(alternate_bases="G")),
    ("VARIANT_TAG", allele_pb2.VariantFrequency(variant=allele_pb2.Variant(position=1))),
    ("DATASET_ID_TAG", allele_pb2.VariantFrequency(dataset_id="d")),
    ("NODE_ID_TAG", allele_pb2.VariantFrequency(node_id="n")),
    ("COUNTRY_TAG", allele_pb2.VariantFrequency(country="NO")),
    ("COUNTS_TAG", allele_pb2.VariantFrequency(counts=allele_pb2.AlleleCounts(allele_count=1))),
    ("POPULATIONS_TAG", allele_pb2.VariantFrequency(
        populations=[allele_pb2.PopulationFrequency(population="FR")])),
    ("FILTERS_TAG", allele_pb2.VariantFrequency(filters=["q10"])),
    ("POPULATION_TAG", allele_pb2.PopulationFrequency(population="FR")),
    ("POPULATION_COUNTS_TAG", allele_pb2.PopulationFrequency(
        counts=allele_pb2.AlleleCounts(allele_count=1))),
    ("OUTCOME_NODE_ID_TAG", allele_pb2.NodeOutcome(node_id="n")),
    ("OUTCOME_COUNTRY_TAG", allele_pb2.NodeOutcome(country="NO")),
    ("OUTCOME_STATUS_TAG", allele_pb2.NodeOutcome(status=status_pb2.Status(code=1))),
    ("OUTCOME_LATENCY_TAG", allele_pb2.NodeOutcome(latency_ms=1.5)),
    ("OUTCOME_FREQUENCY_COUNT_TAG", allele_pb2.NodeOutcome(frequency_count=2)),
    ("OUTCOME_DATASETS_TAG", allele_pb2.NodeOutcome(
        datasets=[allele_pb2.DatasetOutcome(dataset_id="d")])),
    ("FREQUENCIES_TAG", allele_service_pb2.LookupVariantResponse(
        frequencies=[allele_pb2.VariantFrequency(dataset_id="d")])),
    ("FREQUENCIES_TAG", allele_service_pb2.SearchRegionResponse(
        frequencies=[allele_pb2.VariantFrequency(dataset_id="d")])),
    ("LOOKUP_OUTCOMES_TAG", allele_service_pb2.LookupVariantResponse(
        outcomes=[allele_pb2.NodeOutcome(node_id="n")])),
    ("POOLED_TAG", allele_service_pb2.LookupVariantResponse(
        pooled=allele_pb2.AlleleCounts(allele_count=1))),
    ("POOLED_TAG", allele_service_pb2.VariantLookupResult(
        pooled=allele_pb2.AlleleCounts(allele_count=1))),
    ("RESULTS_TAG", allele_service_pb2.BatchLookupVariantsResponse(
        results=[allele_service_pb2.VariantLookupResult(pooled=allele_pb2.AlleleCounts())])),
    ("RESULTS_TAG", allele_service_pb2.LookupVariantIdResponse(
        results=[allele_service_pb2.VariantLookupResult(pooled=allele_pb2.AlleleCounts())])),
    ("BATCH_OUTCOMES_TAG", allele_service_pb2.BatchLookupVariantsResponse(
        outcomes=[allele_pb2.NodeOutcome(node_id="n")])),
    ("BATCH_OUTCOMES_TAG", allele_service_pb2.LookupVariantIdResponse(
        outcomes=[allele_pb2.NodeOutcome(node_id="n")])),
    ("VARIANT_ID_TAG", allele_service_pb2.LookupVariantIdResponse(variant_id="rs1")),
    ("DATASETS_OUTCOMES_TAG", catalog_service_pb2.ListDatasetsResponse(
        outcomes=[allele_pb2.NodeOutcome(node_id="n")])),
    ("RESULT_VARIANT_TAG", allele_service_pb2.VariantLookupResult(
        variant=allele_pb2.Variant(position=1))),
    ("RESULT_FREQUENCIES_TAG", allele_service_pb2.VariantLookupResult(
        frequencies=[allele_pb2.VariantFrequency(dataset_id="d")])),
    ("NEXT_PAGE_TOKEN_TAG", allele_service_pb2.SearchRegionResponse(next_page_token="t")),
    ("REGION_OUTCOMES_TAG", allele_service_pb2.SearchRegionResponse(
        outcomes=[allele_pb2.NodeOutcome(node_id="n")])),
]  # fmt: skip


@pytest.mark.parametrize(("name", "message"), _KEYED, ids=[k[0] for k in _KEYED])
def test_each_named_key_is_the_one_protobuf_writes(name: str, message: object) -> None:
    key: bytes = getattr(wire, name)
    encoded = message.SerializeToString()  # type: ignore[attr-defined]
    assert encoded[: len(key)] == key
    assert len(key) == 1  # every field number here is below 16


def test_fields_written_with_one_key_must_keep_one() -> None:
    lookup = allele_service_pb2.LookupVariantResponse
    assert wire.shared_tag((lookup, "pooled"), (allele_service_pb2.VariantLookupResult, "pooled"))
    with pytest.raises(RuntimeError, match="no longer share a wire key"):
        wire.shared_tag((lookup, "frequencies"), (lookup, "outcomes"))
