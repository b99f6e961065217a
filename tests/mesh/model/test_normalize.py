"""Trimming and left-alignment, checked against a brute-force search over a small reference."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mesh.errors import InvalidArgumentError
from mesh.model.normalize import left_align, normalize, trim
from mesh.model.variants import VariantKey


class StringReference:
    """Chromosome ``1`` is ``bases``; ``fetch`` is 0-based, half-open, and counts its calls."""

    def __init__(self, bases: str) -> None:
        self.bases = bases
        self.calls = 0

    def fetch(self, chromosome: str, start: int, end: int) -> str:
        assert chromosome == "1"
        assert 0 <= start <= end
        self.calls += 1
        return self.bases[start:end]


# -- an independent model of what normalization must produce -------------------------------


def apply(bases: str, key: VariantKey) -> str:
    """Return the haplotype that ``key`` makes of ``bases``."""
    start = key.position - 1
    assert bases[start : start + len(key.ref)] == key.ref
    return bases[:start] + key.alt + bases[start + len(key.ref) :]


def leftmost_deletion(bases: str, haplotype: str, length: int) -> VariantKey:
    """Try every left-anchored deletion of ``length`` bases; keep the leftmost that fits."""
    for start in range(1, len(bases) - length + 1):  # 0-based first deleted base
        if bases[:start] + bases[start + length :] == haplotype:
            return VariantKey("1", start, bases[start - 1 : start + length], bases[start - 1])
    raise AssertionError("no deletion gives the haplotype")


def leftmost_insertion(bases: str, haplotype: str, length: int) -> VariantKey:
    """Try every left-anchored insertion of ``length`` bases; keep the leftmost that fits."""
    for after in range(1, len(bases) + 1):  # the insertion follows 0-based base after - 1
        inserted = haplotype[after : after + length]
        if bases[:after] + inserted + bases[after:] == haplotype:
            anchor = bases[after - 1]
            return VariantKey("1", after, anchor, anchor + inserted)
    raise AssertionError("no insertion gives the haplotype")


# -- strategies ----------------------------------------------------------------------------

# A two-letter alphabet makes repeats, where alignment matters, common.
references = st.text(alphabet="AC", min_size=2, max_size=40) | st.text(
    alphabet="ACGT", min_size=2, max_size=40
)


@st.composite
def deletions(draw: st.DrawFn) -> tuple[str, VariantKey, int]:
    """A reference, one (possibly padded) representation of a deletion in it, its length."""
    bases = draw(references)
    start = draw(st.integers(1, len(bases) - 1))  # 0-based first deleted base
    length = draw(st.integers(1, len(bases) - start))
    end = start + length
    right = draw(st.integers(0, len(bases) - end))  # extra bases after the deletion
    # -1: no anchor before, only bases after (allowed in VCF, and trimmed to that form).
    left = draw(st.integers(-1 if right else 0, start - 1))
    first = start - 1 - left  # 0-based first base of the record
    ref = bases[first : end + right]
    alt = bases[first:start] + bases[end : end + right]
    return bases, VariantKey("1", first + 1, ref, alt), length


@st.composite
def insertions(draw: st.DrawFn) -> tuple[str, VariantKey, int]:
    """A reference, one (possibly padded) representation of an insertion in it, its length."""
    bases = draw(references)
    after = draw(st.integers(1, len(bases)))  # insert between after - 1 and after (0-based)
    inserted = draw(st.text(alphabet="ACGT", min_size=1, max_size=5))
    right = draw(st.integers(0, len(bases) - after))
    left = draw(st.integers(-1 if right else 0, after - 1))
    first = after - 1 - left
    ref = bases[first : after + right]
    alt = bases[first:after] + inserted + bases[after : after + right]
    return bases, VariantKey("1", first + 1, ref, alt), len(inserted)


alleles = st.text(alphabet="ACGT", min_size=1, max_size=8)


@st.composite
def any_variant(draw: st.DrawFn) -> tuple[str, VariantKey]:
    """A reference and any variant whose ref allele matches it (SNV, MNV, indel, complex)."""
    bases = draw(references)
    first = draw(st.integers(0, len(bases) - 1))
    ref = bases[first : draw(st.integers(first + 1, len(bases)))]
    alt = draw(alleles.filter(lambda a: a != ref))
    return bases, VariantKey("1", first + 1, ref, alt)


# -- properties ----------------------------------------------------------------------------


@given(position=st.integers(1, 10**6), ref=alleles, alt=alleles)
def test_trim_is_parsimonious_and_keeps_the_change(position: int, ref: str, alt: str) -> None:
    assume(ref != alt)
    new_position, new_ref, new_alt = trim(position, ref, alt)
    assert new_ref
    assert new_alt
    assert new_ref != new_alt
    # Only a common prefix and a common suffix were removed.
    dropped = new_position - position
    assert dropped >= 0
    prefix = ref[:dropped]
    assert alt[:dropped] == prefix
    suffix_ref = ref[dropped + len(new_ref) :]
    suffix_alt = alt[dropped + len(new_alt) :]
    assert suffix_ref == suffix_alt
    assert ref == prefix + new_ref + suffix_ref
    assert alt == prefix + new_alt + suffix_alt
    # Nothing more could be trimmed without emptying an allele.
    if len(new_ref) > 1 and len(new_alt) > 1:
        assert new_ref[0] != new_alt[0]
        assert new_ref[-1] != new_alt[-1]


@given(position=st.integers(1, 10**6), ref=alleles, alt=alleles)
def test_normalize_without_reference_is_idempotent(position: int, ref: str, alt: str) -> None:
    assume(ref != alt)
    once = normalize(VariantKey("1", position, ref, alt))
    assert normalize(once) == once


@given(case=any_variant())
def test_normalize_with_reference_is_idempotent(case: tuple[str, VariantKey]) -> None:
    bases, key = case
    reference = StringReference(bases)
    once = normalize(key, reference)
    assert normalize(once, reference) == once
    assert apply(bases, once) == apply(bases, key)  # same haplotype


@given(case=deletions())
def test_deletions_left_align_to_the_brute_force_answer(case: tuple[str, VariantKey, int]) -> None:
    bases, key, length = case
    expected = leftmost_deletion(bases, apply(bases, key), length)
    assert normalize(key, StringReference(bases)) == expected


@given(case=insertions())
def test_insertions_left_align_to_the_brute_force_answer(
    case: tuple[str, VariantKey, int],
) -> None:
    bases, key, length = case
    expected = leftmost_insertion(bases, apply(bases, key), length)
    assert normalize(key, StringReference(bases)) == expected


@given(
    left=st.text(alphabet="ACGT", min_size=1, max_size=5),
    unit=st.text(alphabet="ACGT", min_size=1, max_size=3),
    copies=st.integers(2, 6),
    right=st.text(alphabet="ACGT", max_size=5),
    data=st.data(),
)
def test_one_repeat_indel_written_two_ways_meets_on_one_key(
    left: str, unit: str, copies: int, right: str, data: st.DataObject
) -> None:
    bases = left + unit * copies + right
    reference = StringReference(bases)
    i, j = (data.draw(st.integers(0, copies - 1)) for _ in range(2))

    def deletion_of_copy(k: int) -> VariantKey:
        start = len(left) + k * len(unit)  # 0-based first base of copy k
        return VariantKey("1", start, bases[start - 1 : start + len(unit)], bases[start - 1])

    def insertion_after_copy(k: int) -> VariantKey:
        after = len(left) + (k + 1) * len(unit)
        anchor = bases[after - 1]
        return VariantKey("1", after, anchor, anchor + unit)

    deleted = {normalize(deletion_of_copy(k), reference) for k in (i, j)}
    assert deleted == {leftmost_deletion(bases, apply(bases, deletion_of_copy(i)), len(unit))}
    inserted = {normalize(insertion_after_copy(k), reference) for k in (i, j)}
    assert inserted == {leftmost_insertion(bases, apply(bases, insertion_after_copy(i)), len(unit))}


# -- examples ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "ref", "alt", "expected"),
    [
        (100, "GAT", "GCT", (101, "A", "C")),
        (5, "AGGT", "AGT", (5, "AG", "A")),
        (1, "CAA", "CA", (1, "CA", "C")),
        (7, "A", "T", (7, "A", "T")),
        (7, "ACGT", "TCGA", (7, "ACGT", "TCGA")),
        (10, "TTTAC", "TTTGC", (13, "A", "G")),
        (10, "CTTT", "CTTTT", (10, "C", "CT")),
    ],
)
def test_trim_examples(position: int, ref: str, alt: str, expected: tuple[int, str, str]) -> None:
    assert trim(position, ref, alt) == expected


@pytest.mark.parametrize(
    ("bases", "key", "expected"),
    [
        # G A A A A C: dropping the last A of the run is dropping the first.
        ("GAAAAC", VariantKey("1", 4, "AA", "A"), VariantKey("1", 1, "GA", "G")),
        # T CA CA CA G: one CA unit less.
        ("TCACACAG", VariantKey("1", 5, "ACA", "A"), VariantKey("1", 1, "TCA", "T")),
        # One more CA.
        ("TCACACAG", VariantKey("1", 7, "A", "ACA"), VariantKey("1", 1, "T", "TCA")),
        # A run at the start of the chromosome: stops at position 1.
        ("AAAC", VariantKey("1", 2, "AA", "A"), VariantKey("1", 1, "AA", "A")),
        # Nothing to shift.
        ("GATC", VariantKey("1", 2, "AT", "A"), VariantKey("1", 2, "AT", "A")),
        ("GATC", VariantKey("1", 2, "A", "G"), VariantKey("1", 2, "A", "G")),
    ],
)
def test_left_align_examples(bases: str, key: VariantKey, expected: VariantKey) -> None:
    assert normalize(key, StringReference(bases)) == expected


@pytest.mark.parametrize("run", [255, 256, 257, 700])
def test_long_homopolymer_crosses_fetch_windows(run: int) -> None:
    bases = "G" + "A" * run + "C"
    reference = StringReference(bases)
    key = VariantKey("1", run, "AA", "A")  # drops the last A of the run
    assert normalize(key, reference) == VariantKey("1", 1, "GA", "G")
    assert reference.calls <= 2 + run // 256


def test_long_dinucleotide_repeat_insertion() -> None:
    bases = "G" + "CA" * 400 + "T"
    key = VariantKey("1", 801, "A", "ACA")  # after the last CA
    assert normalize(key, StringReference(bases)) == VariantKey("1", 1, "G", "GCA")


def test_reference_mismatch() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        normalize(VariantKey("1", 2, "TT", "T"), StringReference("GAAAAC"))
    error = caught.value
    assert (error.field, error.reason) == ("reference_bases", "REFERENCE_MISMATCH")
    assert "TT" in error.message
    assert "AA" in error.message


def test_snv_is_returned_as_is() -> None:
    key = VariantKey("1", 2, "A", "G")
    assert normalize(key, StringReference("GAT")) is key
    assert normalize(key) is key


def test_left_align_leaves_substitutions() -> None:
    assert left_align(StringReference("GATC"), "1", 2, "AT", "GC") == (2, "AT", "GC")
