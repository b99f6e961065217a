"""Validation of variants and regions, and their proto converters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.errors import InvalidArgumentError
from mesh.model.genome import CHROMOSOMES, Assembly
from mesh.model.variants import (
    RegionKey,
    VariantKey,
    region_from_proto,
    region_to_proto,
    validate_region,
    validate_variant,
    variant_from_proto,
    variant_to_proto,
)
from mesh.v1 import allele_pb2

GRCH38 = Assembly.GRCH38
GRCH37 = Assembly.GRCH37
CHR1_38 = 248956422
CHR1_37 = 249250621
MT = 16569


def error_of(call: object, *args: object, **kwargs: object) -> InvalidArgumentError:
    with pytest.raises(InvalidArgumentError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value


def test_valid_variant_is_canonical() -> None:
    key = validate_variant("chr1", 55051215, "g", "gA", GRCH38)
    assert key == VariantKey("1", 55051215, "G", "GA")


@pytest.mark.parametrize("alias", ["chrM", "M", "MT", "NC_012920.1"])
def test_chromosome_aliases(alias: str) -> None:
    assert validate_variant(alias, 73, "A", "G", GRCH38).chromosome == "MT"


def test_n_is_a_base() -> None:
    assert validate_variant("1", 10, "N", "A", GRCH38) == VariantKey("1", 10, "N", "A")


@pytest.mark.parametrize(
    ("args", "field", "reason", "words"),
    [
        (("chr99", 1, "A", "G"), "chromosome", "UNKNOWN_CHROMOSOME", ["chr99"]),
        (("NC_000001.10", 1, "A", "G"), "chromosome", "ASSEMBLY_MISMATCH", ["GRCh37"]),
        (("1", 1, "", "G"), "reference_bases", "EMPTY_BASES", ["reference bases", "empty"]),
        (("1", 1, "A", ""), "alternate_bases", "EMPTY_BASES", ["alternate bases", "empty"]),
        (("1", 1, "AXG", "G"), "reference_bases", "INVALID_BASES", ["'X'", "offset 1"]),
        (("1", 1, "A", "<DEL>"), "alternate_bases", "INVALID_BASES", ["symbolic"]),
        (("1", 1, "A", "*"), "alternate_bases", "INVALID_BASES", ["symbolic"]),
        (("1", 1, "A", "U"), "alternate_bases", "INVALID_BASES", ["'U'"]),
        (("1", 1, "ac", "AC"), "alternate_bases", "SAME_ALLELES", ["AC", "not a variant"]),
        (("1", 0, "A", "G"), "position", "POSITION_OUT_OF_RANGE", ["position 0", "1-based"]),
        (("1", -5, "A", "G"), "position", "POSITION_OUT_OF_RANGE", ["position -5"]),
        (
            ("1", CHR1_38 + 1, "A", "G"),
            "position",
            "POSITION_OUT_OF_RANGE",
            [str(CHR1_38 + 1), str(CHR1_38), "GRCh38"],
        ),
        (
            ("1", CHR1_38, "AC", "A"),
            "position",
            "POSITION_OUT_OF_RANGE",
            [str(CHR1_38 + 1), "beyond the end"],
        ),
    ],
)
def test_variant_errors(
    args: tuple[str, int, str, str], field: str, reason: str, words: list[str]
) -> None:
    error = error_of(validate_variant, *args, GRCH38)
    assert (error.field, error.reason) == (field, reason)
    for word in words:
        assert word in error.message


def test_position_message_reads_well() -> None:
    error = error_of(validate_variant, "1", 300000000, "A", "G", GRCH38)
    assert error.message == (
        "position 300000000 is beyond the end of chromosome 1 (248956422 bp in GRCh38)"
    )


def test_bounds_depend_on_assembly() -> None:
    assert validate_variant("1", CHR1_37, "A", "G", GRCH37).position == CHR1_37
    error = error_of(validate_variant, "1", CHR1_37, "A", "G", GRCH38)
    assert error.reason == "POSITION_OUT_OF_RANGE"


def test_last_bases_of_a_chromosome() -> None:
    assert validate_variant("1", CHR1_38, "A", "G", GRCH38).position == CHR1_38
    assert validate_variant("MT", MT - 1, "AC", "A", GRCH38).position == MT - 1
    error = error_of(validate_variant, "MT", MT - 1, "ACG", "A", GRCH38)
    assert error.reason == "POSITION_OUT_OF_RANGE"


def test_field_prefix() -> None:
    error = error_of(validate_variant, "1", 0, "A", "G", GRCH38, field_prefix="variants[3]")
    assert error.field == "variants[3].position"


def test_valid_region() -> None:
    assert validate_region("chrX", 100, 200, GRCH38) == RegionKey("X", 100, 200)
    assert validate_region("1", 5, 5, GRCH38) == RegionKey("1", 5, 5)
    assert validate_region("1", 1, CHR1_38, GRCH38).end == CHR1_38


@pytest.mark.parametrize(
    ("args", "kwargs", "field", "reason", "words"),
    [
        (("chr0", 1, 2), {}, "chromosome", "UNKNOWN_CHROMOSOME", ["chr0"]),
        (("1", 0, 2), {}, "start", "POSITION_OUT_OF_RANGE", ["start 0", "1-based"]),
        (("1", 200, 100), {}, "end", "INVALID_REGION", ["end 100", "start 200"]),
        (("1", 1, CHR1_38 + 1), {}, "end", "POSITION_OUT_OF_RANGE", [str(CHR1_38)]),
        (("1", CHR1_38 + 1, CHR1_38 + 2), {}, "start", "POSITION_OUT_OF_RANGE", ["GRCh38"]),
        (("1", 1, 101), {"max_span": 100}, "end", "REGION_TOO_LARGE", ["101 bp", "100 bp"]),
        (("1", 1, 2), {"field_prefix": "region"}, None, None, []),
        (("1", 0, 2), {"field_prefix": "region"}, "region.start", "POSITION_OUT_OF_RANGE", []),
    ],
)
def test_region_errors(
    args: tuple[str, int, int],
    kwargs: dict[str, object],
    field: str | None,
    reason: str | None,
    words: list[str],
) -> None:
    if field is None:
        assert validate_region(*args, GRCH38, **kwargs) == RegionKey(*args)  # type: ignore[arg-type]
        return
    error = error_of(validate_region, *args, GRCH38, **kwargs)
    assert (error.field, error.reason) == (field, reason)
    for word in words:
        assert word in error.message


def test_region_at_max_span_is_fine() -> None:
    assert validate_region("1", 1, 100, GRCH38, max_span=100) == RegionKey("1", 1, 100)


def test_variant_proto_round_trip() -> None:
    msg = allele_pb2.Variant(
        chromosome="chr7", position=117559590, reference_bases="atct", alternate_bases="a"
    )
    key = variant_from_proto(msg, GRCH38)
    assert key == VariantKey("7", 117559590, "ATCT", "A")
    assert variant_to_proto(key) == allele_pb2.Variant(
        chromosome="7", position=117559590, reference_bases="ATCT", alternate_bases="A"
    )


def test_variant_from_proto_names_proto_fields() -> None:
    error = error_of(variant_from_proto, allele_pb2.Variant(chromosome="1", position=1), GRCH38)
    assert (error.field, error.reason) == ("variant.reference_bases", "EMPTY_BASES")
    msg = allele_pb2.Variant(chromosome="1", position=0, reference_bases="A", alternate_bases="G")
    error = error_of(variant_from_proto, msg, GRCH38, field_prefix="variants[2]")
    assert error.field == "variants[2].position"


def test_region_proto() -> None:
    msg = allele_pb2.Region(chromosome="chr2", start=10, end=20)
    key = region_from_proto(msg, GRCH38)
    assert key == RegionKey("2", 10, 20)
    assert region_to_proto(key) == allele_pb2.Region(chromosome="2", start=10, end=20)
    error = error_of(region_from_proto, allele_pb2.Region(chromosome="2", start=20, end=10), GRCH38)
    assert (error.field, error.reason) == ("region.end", "INVALID_REGION")
    error = error_of(region_from_proto, msg, GRCH38, max_span=5)
    assert (error.field, error.reason) == ("region.end", "REGION_TOO_LARGE")


alleles = st.text(alphabet="ACGTNacgtn", min_size=1, max_size=12)


@given(
    chromosome=st.sampled_from(CHROMOSOMES),
    prefix=st.sampled_from(["", "chr", "CHR"]),
    position=st.integers(min_value=1, max_value=MT - 12),
    ref=alleles,
    alt=alleles,
    assembly=st.sampled_from(list(Assembly)),
)
def test_valid_input_gives_canonical_key(
    chromosome: str, prefix: str, position: int, ref: str, alt: str, assembly: Assembly
) -> None:
    if ref.upper() == alt.upper():
        error = error_of(validate_variant, prefix + chromosome, position, ref, alt, assembly)
        assert error.reason == "SAME_ALLELES"
        return
    key = validate_variant(prefix + chromosome, position, ref, alt, assembly)
    assert key == VariantKey(chromosome, position, ref.upper(), alt.upper())
    assert variant_from_proto(variant_to_proto(key), assembly) == key


@given(text=st.text(min_size=1, max_size=6))
def test_anything_but_acgtn_is_refused(text: str) -> None:
    bad = [c for c in text if c not in "ACGTNacgtn"]
    if not bad:
        return
    error = error_of(validate_variant, "1", 100, text, "A" if text.upper() != "A" else "C", GRCH38)
    assert (error.field, error.reason) == ("reference_bases", "INVALID_BASES")
    assert repr(bad[0]) in error.message


# -- fast paths ---------------------------------------------------------------------


def test_chromosome_table_resolves_like_canonical_chromosome():
    from mesh.model.genome import canonical_chromosome, contig_length
    from mesh.model.variants import chromosome_table

    for assembly in Assembly:
        table = chromosome_table(assembly)
        assert {"1", "chr1", "chrX", "chrM", "chrMT", "MT", "CHR22"} <= set(table)
        for spelling, (canonical, length) in table.items():
            assert canonical_chromosome(spelling, assembly) == canonical
            assert contig_length(spelling, assembly) == length


@given(
    chrom=st.sampled_from(["1", "chr1", "Chr7", "chrM", "MT", "x", "chrY", "23", "NC_000001.11"]),
    pos=st.integers(min_value=-1, max_value=260_000_000),
    ref=st.text(alphabet="ACGTNa*", max_size=4),
    alt=st.text(alphabet="ACGTNa*", max_size=4),
)
def test_canonical_variant_is_none_or_the_validated_key(chrom, pos, ref, alt):
    from mesh.model.variants import canonical_variant

    fast = canonical_variant(chrom, pos, ref, alt, Assembly.GRCH38)
    if fast is None:
        return
    assert fast == validate_variant(chrom, pos, ref, alt, Assembly.GRCH38)
