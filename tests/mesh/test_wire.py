"""The hand-rolled encoders must produce bytes that protobuf parses to the same message."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mesh.model import wire
from mesh.v1 import allele_pb2

counts = st.one_of(st.none(), st.integers(min_value=0, max_value=2**40))
FIELDS = ("allele_count", "allele_number", "homozygous_count", "heterozygous_count",
          "hemizygous_count")  # fmt: skip


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
