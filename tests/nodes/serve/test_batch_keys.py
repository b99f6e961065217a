"""The compiled batch keys (``allelemesh_codec.batch_keys``) against the Python path, byte for byte.

The reference is Python's full path row by row (``LocalLookup._normalized``: validation,
normalization, ``nodes.index.keys.encode_key``, the echo), and for keys also
``encode_key`` over ``validate_variant`` + ``normalize`` called here. Requests are
serialized by protobuf, or hand-encoded in forms protobuf parses but never writes
(fields reordered, repeated or unknown, over-long varints, explicit defaults): those
rows must be handed back to the full path, never echoed as they came.
"""

from __future__ import annotations

import pytest
from allelemesh_codec import batch_keys as compiled_keys
from hypothesis import given, settings
from hypothesis import strategies as st

from mesh.errors import InvalidArgumentError
from mesh.model.genome import Assembly, canonical_chromosome
from mesh.model.normalize import normalize
from mesh.model.variants import chromosome_table, validate_variant
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.index.keys import encode_key
from nodes.serve._batch import key_table
from nodes.serve.lookup import LocalLookup, NodeIdentity
from nodes.serve.store import IndexStore
from tests.guard_page import guarded

GRCH38 = Assembly.GRCH38
TABLE = chromosome_table(GRCH38)
SPELLINGS = sorted(TABLE)
Request = allele_service_pb2.BatchLookupVariantsRequest


class PatternReference:
    """A made-up genome (a repeating pattern): left-alignment and mismatches happen."""

    def fetch(self, chromosome: str, start: int, end: int) -> str:
        pattern = "ACGTTGCAAT"
        return "".join(pattern[i % len(pattern)] for i in range(start, end))


PLAIN = LocalLookup(IndexStore([]), NodeIdentity("node-1", "NO"))
WITH_REFERENCE = LocalLookup(
    IndexStore([]), NodeIdentity("node-1", "NO"), references={GRCH38: PatternReference()}
)


def _variant(chrom: str, pos: int, ref: str, alt: str) -> allele_pb2.Variant:
    return allele_pb2.Variant(
        chromosome=chrom, position=pos, reference_bases=ref, alternate_bases=alt
    )


def _python_path(lookup: LocalLookup, variants) -> tuple[list[bytes], list[bytes]]:
    """Every row through the full path, in order (the first error ends the batch)."""
    keys, echoes = [], []
    for row, variant in enumerate(variants):
        key, echo = lookup._normalized(variant, GRCH38, row)
        keys.append(key)
        echoes.append(echo)
    return keys, echoes


def _outcome(call):
    try:
        return call()
    except InvalidArgumentError as error:
        return ("error", error.field, error.message, error.reason)


def _same_as_python(lookup: LocalLookup, data: bytes) -> None:
    request = Request.FromString(data)
    expected = _outcome(lambda: _python_path(lookup, request.variants))
    actual = _outcome(lambda: lookup.batch_keys(data, request.variants, GRCH38))
    assert actual == expected


# -- keys as sent: the compiled keys equal encode_key's ------------------------------------


def _near_end(chrom: str, alleles: int) -> st.SearchStrategy[int]:
    length = TABLE[chrom][1]
    return st.one_of(
        st.integers(1, 2_000), st.integers(length - alleles - 2, length + 2), st.integers(1, length)
    )


@st.composite
def canonical_rows(draw) -> tuple[str, int, str, str]:
    """Variants keyed as sent when no reference is configured (every chromosome spelling)."""
    chrom = draw(st.sampled_from(SPELLINGS))
    if draw(st.booleans()):
        ref, alt = draw(st.lists(st.sampled_from("ACGTN"), min_size=2, max_size=2, unique=True))
    else:  # an indel or MNV with nothing to trim, up to the inline limit and past it
        low, high = (150, 260) if draw(st.booleans()) else (1, 6)
        ref = draw(st.text("ACGTN", min_size=low, max_size=high))
        alt = draw(st.text("ACGTN", min_size=1, max_size=high))
    pos = draw(_near_end(chrom, len(ref)))
    return chrom, pos, ref, alt


def _reference_key(chrom: str, pos: int, ref: str, alt: str) -> bytes | None:
    """encode_key of the validated, normalized variant; None when it is refused."""
    try:
        name = canonical_chromosome(chrom, GRCH38)
        return encode_key(normalize(validate_variant(name, pos, ref, alt, GRCH38)))
    except InvalidArgumentError:
        return None


@settings(max_examples=400, deadline=None)
@given(rows=st.lists(canonical_rows(), min_size=1, max_size=20))
def test_compiled_keys_equal_encode_key(rows):
    data = Request(variants=[_variant(*r) for r in rows]).SerializeToString()
    keys, echoes, rest = compiled_keys(data, key_table(GRCH38, True))
    assert len(keys) == len(echoes) == len(rows)
    for row, (chrom, pos, ref, alt) in enumerate(rows):
        expected = _reference_key(chrom, pos, ref, alt)
        if row in rest:
            assert keys[row] is None
            assert echoes[row] is None
            continue
        assert expected is not None, "a refused variant was keyed"
        assert keys[row] == expected
        canonical = TABLE[chrom][0]
        assert echoes[row] == _variant(canonical, pos, ref, alt).SerializeToString()
    _same_as_python(PLAIN, data)


def test_every_chromosome_spelling_and_the_bounds_are_keyed_in_c():
    table = key_table(GRCH38, True)
    for chrom in SPELLINGS:
        length = TABLE[chrom][1]
        rows = [
            (chrom, 1, "A", "G"),
            (chrom, length, "N", "T"),  # the last base
            (chrom, length - 1, "AC", "G"),  # a deletion ending on the last base
            (chrom, 12_345, "A", "C" * 398),  # REF>ALT of 400 bytes: the longest inline
        ]
        data = Request(variants=[_variant(*r) for r in rows]).SerializeToString()
        keys, _echoes, rest = compiled_keys(data, table)
        assert rest == []
        assert keys == [_reference_key(*r) for r in rows]
        past = [
            (chrom, length + 1, "A", "G"),
            (chrom, length, "AC", "G"),
            (chrom, 9, "A", "C" * 399),
        ]
        data = Request(variants=[_variant(*r) for r in past]).SerializeToString()
        assert compiled_keys(data, table)[2] == [0, 1, 2]


def test_indels_go_to_the_full_path_when_a_reference_can_left_align_them():
    rows = [("1", 1_000, "A", "G"), ("1", 1_000, "A", "AT"), ("chr2", 50, "CT", "C")]
    data = Request(variants=[_variant(*r) for r in rows]).SerializeToString()
    assert compiled_keys(data, key_table(GRCH38, False))[2] == [1, 2]
    assert compiled_keys(data, key_table(GRCH38, True))[2] == []
    _same_as_python(WITH_REFERENCE, data)
    _same_as_python(PLAIN, data)


# -- mixed batches: identical keys, echoes and errors ---------------------------------------

chromosomes = st.one_of(
    st.sampled_from(SPELLINGS),
    st.sampled_from(["NC_000001.11", "23", "chr23", "x", "chrx", "", "chrUn", "1 ", "é", "M"]),
)
alleles = st.one_of(
    st.text("ACGTN", min_size=1, max_size=4),
    st.text("ACGTNacgtn*<>X.", max_size=5),
    st.text("ACGT", min_size=190, max_size=210),
)
positions = st.one_of(
    st.integers(-3, 3),
    st.integers(1, 250_000_000),
    st.integers(2**32 - 3, 2**32 + 3),
    st.integers(-(2**63), 2**63 - 1),
)
rows = st.tuples(chromosomes, positions, alleles, alleles)


@settings(max_examples=500, deadline=None)
@given(batch=st.lists(rows, min_size=1, max_size=12), reference=st.booleans())
def test_mixed_batches_match_the_python_path(batch, reference):
    data = Request(variants=[_variant(*r) for r in batch]).SerializeToString()
    _same_as_python(WITH_REFERENCE if reference else PLAIN, data)


def test_a_bad_row_among_good_ones_names_its_index():
    batch = [("1", 100, "A", "C"), ("chr1", 7, "a", "g"), ("2", 5, "A", "Q"), ("1", 0, "A", "C")]
    data = Request(variants=[_variant(*r) for r in batch]).SerializeToString()
    request = Request.FromString(data)
    with pytest.raises(InvalidArgumentError) as caught:
        PLAIN.batch_keys(data, request.variants, GRCH38)
    assert caught.value.field == "variants[2].alternate_bases"
    _same_as_python(PLAIN, data)


# -- encodings protobuf parses but never writes ---------------------------------------------


def _string(key: int, value: bytes) -> bytes:
    return bytes([key, len(value)]) + value


def _fields(chrom: bytes = b"chr1", pos: bytes = b"\x64", ref: bytes = b"A", alt: bytes = b"G"):
    return {1: _string(0x0A, chrom), 2: b"\x10" + pos, 3: _string(0x1A, ref), 4: _string(0x22, alt)}


def _odd_variants() -> list[bytes]:
    f = _fields()
    return [
        f[2] + f[1] + f[3] + f[4],  # out of order
        f[1] + f[2] + f[3] + f[4] + f[4],  # a field twice
        f[1] + f[1] + f[2] + f[3] + f[4],
        f[1] + f[2] + f[3] + f[4] + b"\x28\x01",  # an unknown field
        f[1] + b"\x10\xe4\x00" + f[3] + f[4],  # position in two bytes where one does
        b"\x0a\x84\x00chr1" + f[2] + f[3] + f[4],  # a length in two bytes
        f[1] + f[2] + f[3],  # no ALT
        f[1] + f[3] + f[4],  # no position (0)
        f[1] + b"\x10\x00" + f[3] + f[4],  # position 0 written out
        f[1] + f[2] + b"\x1a\x00" + f[3] + f[4],  # an empty REF, then the real one
        b"",
    ]


def _request_bytes(variants: list[bytes], head: bytes = b"\x08\x02") -> bytes:
    return head + b"".join(b"\x12" + bytes([len(v)]) + v for v in variants)


@pytest.mark.parametrize("index", range(len(_odd_variants())))
def test_unusual_encodings_take_the_full_path(index):
    good = _fields()
    plain = good[1] + good[2] + good[3] + good[4]
    data = _request_bytes([plain, _odd_variants()[index], plain])
    keys, _echoes, rest = compiled_keys(data, key_table(GRCH38, True))
    assert rest == [1]
    assert keys[0] == keys[2] == _reference_key("1", 100, "A", "G")
    _same_as_python(PLAIN, data)


@settings(max_examples=300, deadline=None)
@given(
    order=st.permutations([1, 2, 3, 4]),
    extra=st.sampled_from([b"", b"\x28\x05", b"\x32\x00", b"\x3d\x00\x00\x00\x00"]),
    head=st.sampled_from([b"", b"\x08\x02", b"\x1a\x02ds\x22\x03NFE", b"\x28\x01\x08\x00"]),
)
def test_reordered_and_extended_variants_match_the_python_path(order, extra, head):
    f = _fields(b"chrX", b"\xe8\x07", b"CT", b"C")
    variant = b"".join(f[i] for i in order) + extra
    _same_as_python(PLAIN, _request_bytes([variant, variant], head))


def test_a_group_or_a_misused_variants_field_leaves_the_whole_batch_to_python():
    table = key_table(GRCH38, True)
    plain = b"".join(_fields().values())
    assert compiled_keys(_request_bytes([plain]) + b"\x10\x05", table) is None  # variants varint


# -- damaged bytes: a clean error, never a read past the end --------------------------------


def _sample_request() -> bytes:
    batch = [("chr1", 100, "A", "G"), ("X", 5, "AC", "A"), ("1", 9, "a", "g"), ("MT", 3, "T", "C")]
    return Request(
        assembly=allele_pb2.ASSEMBLY_GRCH38,
        variants=[_variant(*r) for r in batch],
        dataset_ids=["ds-a"],
        populations=["NFE"],
    ).SerializeToString()


def _parses(data: bytes) -> bool:
    try:
        Request.FromString(data)
    except Exception:  # protobuf's own refusal, whatever its type
        return False
    return True


def test_every_truncation_is_a_value_error_or_a_clean_answer():
    table = key_table(GRCH38, True)
    data = _sample_request()
    for cut in range(len(data)):
        view = guarded(data[:cut])
        if not _parses(data[:cut]):
            with pytest.raises(ValueError, match="ends inside a field"):
                compiled_keys(view, table)
            continue
        assert compiled_keys(view, table) is not None
        if _parses(data[:cut]):
            _same_as_python(PLAIN, data[:cut])


@settings(max_examples=400, deadline=None)
@given(
    flips=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(0, 200),
)
def test_damaged_bytes_never_read_past_the_end(flips, cut):
    data = bytearray(_sample_request())
    for at, value in flips:
        data[at % len(data)] = value
    damaged = bytes(data[: max(cut, 1)])
    try:
        compiled_keys(guarded(damaged), key_table(GRCH38, True))
    except ValueError:
        assert not _parses(damaged)  # protobuf refuses what the compiled reader cannot follow
    if _parses(damaged):
        _same_as_python(PLAIN, damaged)


def test_a_malformed_table_is_refused():
    with pytest.raises(ValueError, match="chromosome table"):
        compiled_keys(_sample_request(), b"\x0a\x10")
    with pytest.raises(TypeError):
        compiled_keys(_sample_request(), "table")  # type: ignore[arg-type]
