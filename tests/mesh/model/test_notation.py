"""Reading and writing variant and region notations."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mesh.errors import InvalidArgumentError
from mesh.model.genome import CHROMOSOMES, Assembly
from mesh.model.notation import format_spdi, format_variant, parse_region, parse_variant
from mesh.model.variants import RegionKey, VariantKey

GRCH38 = Assembly.GRCH38
GRCH37 = Assembly.GRCH37
INDEL = VariantKey("1", 55051215, "G", "GA")


class WindowReference:
    """Reference bases of one stretch of one chromosome; ``fetch`` is 0-based, half-open."""

    def __init__(self, chromosome: str, offset: int, bases: str) -> None:
        self.chromosome, self.offset, self.bases = chromosome, offset, bases

    def fetch(self, chromosome: str, start: int, end: int) -> str:
        assert chromosome == self.chromosome
        begin = max(start - self.offset, 0)
        return self.bases[begin : max(end - self.offset, begin)]


def error_of(text: str, assembly: Assembly = GRCH38, **kwargs: object) -> InvalidArgumentError:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_variant(text, assembly, **kwargs)  # type: ignore[arg-type]
    return caught.value


@pytest.mark.parametrize(
    "text",
    [
        "1-55051215-G-GA",
        "chr1-55051215-G-GA",
        "chr1:55051215:G:GA",
        "1:55051215:G:GA",
        "1:55051215 G>GA",
        "1:55051215  G > GA",
        "1:55051215:G>GA",
        "chr1:55051215:g>ga",
        "NC_000001.11:55051214:G:GA",
        "NC_000001.11-55051215-G-GA",
        "  1-55051215-G-GA\n",
        "\t NC_000001.11:55051214:G:GA ",
    ],
)
def test_notations_of_one_indel(text: str) -> None:
    assert parse_variant(text, GRCH38) == INDEL


@pytest.mark.parametrize(
    ("text", "assembly", "expected"),
    [
        ("NC_000001.11:g.55051215G>A", GRCH38, VariantKey("1", 55051215, "G", "A")),
        ("NC_000001.10:g.55051215G>A", GRCH37, VariantKey("1", 55051215, "G", "A")),
        ("NC_000023.11:g.100T>c", GRCH38, VariantKey("X", 100, "T", "C")),
        ("chrX:g.100T>C", GRCH38, VariantKey("X", 100, "T", "C")),
        ("NC_012920.1:g.73A>G", GRCH37, VariantKey("MT", 73, "A", "G")),
        ("MT-16569-A-G", GRCH38, VariantKey("MT", 16569, "A", "G")),
        ("chrM:1:A:T", GRCH38, VariantKey("MT", 1, "A", "T")),
        ("X:5 A>G", GRCH38, VariantKey("X", 5, "A", "G")),
        ("23-5-A-G", GRCH38, VariantKey("X", 5, "A", "G")),
        ("NC_000024.10:99:AC:A", GRCH38, VariantKey("Y", 100, "AC", "A")),
        ("NC_000001:99:AC:GT", GRCH37, VariantKey("1", 100, "AC", "GT")),
        ("7-117559590-ATCT-A", GRCH38, VariantKey("7", 117559590, "ATCT", "A")),
    ],
)
def test_notations(text: str, assembly: Assembly, expected: VariantKey) -> None:
    assert parse_variant(text, assembly) == expected


def test_parser_does_not_normalize() -> None:
    assert parse_variant("1-100-CAT-CGT", GRCH38) == VariantKey("1", 100, "CAT", "CGT")


@pytest.mark.parametrize(
    ("text", "reference", "expected"),
    [
        # Deletion of G after the C at 55051214 (1-based).
        (
            "NC_000001.11:55051214:G:",
            WindowReference("1", 55051213, "CGT"),
            ("1", 55051214, "CG", "C"),
        ),
        # Insertion of A after the G at 55051215 (1-based).
        (
            "NC_000001.11:55051215::A",
            WindowReference("1", 55051214, "GT"),
            ("1", 55051215, "G", "GA"),
        ),
        # A deletion length: the deleted bases come from the reference too.
        (
            "NC_000001.11:55051214:2:",
            WindowReference("1", 55051213, "CGTA"),
            ("1", 55051214, "CGT", "C"),
        ),
        (
            "NC_000001.11:55051214:2:A",
            WindowReference("1", 55051213, "CGTA"),
            ("1", 55051215, "GT", "A"),
        ),
        # Before the first base there is no anchor: VCF anchors on the right.
        ("NC_000001.11:0::T", WindowReference("1", 0, "ACGT"), ("1", 1, "A", "TA")),
        ("NC_000001.11:0:AC:", WindowReference("1", 0, "ACGT"), ("1", 1, "ACG", "G")),
    ],
)
def test_spdi_anchored_from_reference(
    text: str, reference: WindowReference, expected: tuple[str, int, str, str]
) -> None:
    assert parse_variant(text, GRCH38, reference=reference) == VariantKey(*expected)


def test_spdi_anchor_beyond_reference() -> None:
    error = error_of("NC_000001.11:55051214:G:", reference=WindowReference("1", 0, "ACGT"))
    assert (error.field, error.reason) == ("variant", "POSITION_OUT_OF_RANGE")


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ("NC_000001.11:55051214:G:", "SPDI_NEEDS_ANCHOR", ["empty allele", "anchor", "1:55051214"]),
        ("NC_000001.11:55051215::A", "SPDI_NEEDS_ANCHOR", ["empty allele", "anchor"]),
        ("NC_000001.11:55051214:1:GA", "SPDI_DELETION_LENGTH", ["length", "(1)"]),
        ("NC_000001.11:55051214::", "SAME_ALLELES", ["nothing"]),
        ("NC_000001.11:g.55051215del", "HGVS_NEEDS_REFERENCE", ["reference FASTA", "GRCh38"]),
        ("NC_000001.11:g.55051215_55051216insA", "HGVS_NEEDS_REFERENCE", ["[references]"]),
        ("NC_000001.11:g.55051215dup", "HGVS_NEEDS_REFERENCE", []),
        ("NC_000001.11:g.55051215_55051217delinsTT", "HGVS_NEEDS_REFERENCE", []),
        ("NM_000546.6:c.215C>G", "TRANSCRIPT_DATA_UNAVAILABLE", ["transcript data"]),
        ("NP_000537.3:p.Pro72Arg", "TRANSCRIPT_DATA_UNAVAILABLE", ["transcript data", "g."]),
        ("NC_000001.11:g.55051215_55051218insA", "UNPARSEABLE_VARIANT", ["neighbouring"]),
        ("NC_000001.11:g.55051217_55051215del", "POSITION_OUT_OF_RANGE", ["later"]),
        ("NC_000001.11:g.55051215_55051216ins", "UNPARSEABLE_VARIANT", ["bases written out"]),
        ("NC_000001.11:g.55051215=", "UNSUPPORTED_HGVS", ["del, ins, dup"]),
        ("NC_000001.10:g.55051215G>A", "ASSEMBLY_MISMATCH", ["GRCh37", "NC_000001.11"]),
        ("NC_000001.10:55051214:G:GA", "ASSEMBLY_MISMATCH", ["GRCh37"]),
        ("chr99-5-A-G", "UNKNOWN_CHROMOSOME", ["chr99"]),
        ("1-300000000-A-G", "POSITION_OUT_OF_RANGE", ["300000000", "248956422", "GRCh38"]),
        ("1-0-A-G", "POSITION_OUT_OF_RANGE", ["position 0"]),
        ("1-99999999999999999999999-A-G", "POSITION_OUT_OF_RANGE", ["too large"]),
        ("1-5-A-<DEL>", "INVALID_BASES", ["symbolic"]),
        ("1:5:A:*", "INVALID_BASES", ["symbolic"]),
        ("1-5-A-A", "SAME_ALLELES", []),
        ("1:5:A:", "EMPTY_BASES", ["alternate bases"]),
    ],
)
def test_errors(text: str, reason: str, words: list[str]) -> None:
    error = error_of(text)
    assert (error.field, error.reason) == ("variant", reason)
    assert repr(text) in error.message  # the input is quoted
    for word in words:
        assert word in error.message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "hello",
        "rs123",
        "1-55051215-G",
        "1:55051215",
        "1-55051215-G-GA-T",
        "1 55051215 G GA",
        "1-5.5-A-G",
        "1-\uff15-A-G",  # a full-width digit five
        "1-\u0665-A-G",  # an Arabic-Indic digit five
        "1:55051215-55051216",
    ],
)
def test_unparseable(text: str) -> None:
    error = error_of(text)
    assert (error.field, error.reason) == ("variant", "UNPARSEABLE_VARIANT")
    assert repr(text.strip()) in error.message
    for example in ("1-55051215-G-GA", "SPDI", "HGVS", "G>GA"):
        assert example in error.message


def test_field_name_is_the_callers() -> None:
    assert error_of("hello", field="query").field == "query"
    assert error_of("1-0-A-G", field="query").field == "query"


def test_long_input_is_shortened_in_messages() -> None:
    error = error_of("x" * 10_000)
    assert len(error.message) < 1000


def test_format_variant() -> None:
    assert format_variant(INDEL) == "1-55051215-G-GA"
    assert format_variant(VariantKey("MT", 73, "A", "G")) == "MT-73-A-G"


def test_format_spdi() -> None:
    assert format_spdi(INDEL, GRCH38) == "NC_000001.11:55051214:G:GA"
    assert format_spdi(INDEL, GRCH37) == "NC_000001.10:55051214:G:GA"
    assert format_spdi(VariantKey("X", 1, "A", "T"), GRCH38) == "NC_000023.11:0:A:T"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1:55051000-55052000", RegionKey("1", 55051000, 55052000)),
        ("chr1:55,051,000-55,052,000", RegionKey("1", 55051000, 55052000)),
        ("1-55051000-55052000", RegionKey("1", 55051000, 55052000)),
        (" chrX:5-5 ", RegionKey("X", 5, 5)),
        ("NC_000024.10:1-100", RegionKey("Y", 1, 100)),
        ("MT:1-16569", RegionKey("MT", 1, 16569)),
    ],
)
def test_parse_region(text: str, expected: RegionKey) -> None:
    assert parse_region(text, GRCH38) == expected


@pytest.mark.parametrize(
    ("text", "kwargs", "reason", "words"),
    [
        ("1:55,0510-9", {}, "UNPARSEABLE_REGION", ["1:55051000-55052000"]),
        ("1:100", {}, "UNPARSEABLE_REGION", ["1-based"]),
        ("1:100-", {}, "UNPARSEABLE_REGION", []),
        ("region", {}, "UNPARSEABLE_REGION", []),
        ("1:200-100", {}, "INVALID_REGION", ["end 100", "start 200"]),
        ("1:0-100", {}, "POSITION_OUT_OF_RANGE", ["start 0"]),
        ("MT:1-16570", {}, "POSITION_OUT_OF_RANGE", ["16569"]),
        ("chr0:1-2", {}, "UNKNOWN_CHROMOSOME", ["chr0"]),
        ("1:1-1001", {"max_span": 1000}, "REGION_TOO_LARGE", ["1001 bp"]),
    ],
)
def test_region_errors(text: str, kwargs: dict[str, int], reason: str, words: list[str]) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_region(text, GRCH38, **kwargs)  # type: ignore[arg-type]
    assert (caught.value.field, caught.value.reason) == ("region", reason)
    assert repr(text) in caught.value.message
    for word in words:
        assert word in caught.value.message


alleles = st.text(alphabet="ACGTN", min_size=1, max_size=10)


@st.composite
def variants(draw: st.DrawFn) -> VariantKey:
    ref = draw(alleles)
    alt = draw(alleles.filter(lambda a: a != ref))
    # 16569 (MT) is the shortest chromosome, so these positions are valid everywhere.
    position = draw(st.integers(min_value=1, max_value=16569 - len(ref) + 1))
    return VariantKey(draw(st.sampled_from(CHROMOSOMES)), position, ref, alt)


@given(key=variants(), assembly=st.sampled_from(list(Assembly)))
def test_parse_format_round_trip(key: VariantKey, assembly: Assembly) -> None:
    assert parse_variant(format_variant(key), assembly) == key
    assert parse_variant(format_spdi(key, assembly), assembly) == key


@given(key=variants(), prefix=st.sampled_from(["", "chr"]), lower=st.booleans())
def test_every_notation_reads_the_same_key(key: VariantKey, prefix: str, lower: bool) -> None:
    chrom, pos, ref, alt = prefix + key.chromosome, key.position, key.ref, key.alt
    if lower:
        ref, alt = ref.lower(), alt.lower()
    texts = [
        f"{chrom}-{pos}-{ref}-{alt}",
        f"{chrom}:{pos}:{ref}:{alt}",
        f"{chrom}:{pos} {ref}>{alt}",
    ]
    texts.append(f"{chrom}:{pos}:{ref}>{alt}")
    for text in texts:
        assert parse_variant(text, GRCH38) == key


@given(
    chromosome=st.sampled_from(CHROMOSOMES),
    start=st.integers(min_value=1, max_value=16569),
    length=st.integers(min_value=0, max_value=10**6),
)
def test_region_round_trip(chromosome: str, start: int, length: int) -> None:
    end = min(start + length, 16569)
    assert parse_region(f"chr{chromosome}:{start:,}-{end:,}", GRCH38) == RegionKey(
        chromosome, start, end
    )
    assert parse_region(f"{chromosome}-{start}-{end}", GRCH38) == RegionKey(chromosome, start, end)
