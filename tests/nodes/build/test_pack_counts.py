"""The compiled counts packer (``allelemesh_codec._pack``) against the Python encoder.

For any INFO text, the packer either gives exactly the bytes the Python path
(:meth:`InfoText.rows` then :meth:`ValueEncoder.counts_part`) gives, or refuses
(``None``), and it refuses every text the Python path counts with an error or hands
to pysam, so errors stay the Python path's (their wording: test_builder_text_path).
"""

from __future__ import annotations

import struct

import pytest
from allelemesh_codec import FORMAT
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nodes.build._encode import ValueEncoder
from nodes.build._info_text import FallbackError, InfoText
from nodes.build.vcf_counts import InfoCounter, RecordError, detect_convention
from nodes.index import records

#: gnomAD style: total, XY, afr, afr_XX, afr_XY, nfe (file groups ``"", M, AFR, AFR_F,
#: AFR_M, NFE``): males, groups with a male part and groups without one (haploid rules).
SUFFIXES = ("", "_XY", "_afr", "_afr_XX", "_afr_XY", "_nfe")
GNOMAD_KEYS = [f"{k}{s}" for s in SUFFIXES for k in ("AC", "AN", "nhomalt")] + ["AF"]
#: GDI style: heterozygous and hemizygous keys declared (a record giving them is refused).
GDI_KEYS = ["AC", "AN", "AC_Hom", "AC_Het", "AC_Hemi", "AC_NO", "AN_NO", "AC_NO_Hom", "AC_NO_Het"]


def _setup(keys: list[str], extra_groups: tuple[str, ...] = ()) -> tuple[InfoText, ValueEncoder]:
    convention = detect_convention(keys)
    assert convention is not None
    numbers = {k: ("1" if k.startswith("AN") else "A") for k in keys}
    counter = InfoCounter(convention, keys, numbers)
    info = InfoText(counter, {k for k in counter.needed_keys() if k.startswith("AN")})
    labels = counter.labels
    groups = records.dataset_groups([labels, ("", *extra_groups)])
    return info, ValueEncoder("ds", labels, groups)


def _python(
    info: InfoText, encoder: ValueEncoder, text: bytes, n_alt: int, haploid: bool
) -> object:
    """What the Python path makes of ``text``: (total AN, parts), or the error's class."""
    try:
        rows = info.rows(text, n_alt, haploid)
        parts = tuple(encoder.counts_part(row) for row in rows)
    except (RecordError, FallbackError) as exc:
        return type(exc)
    total = rows[0][0]
    assert total is not None
    return total[1], parts


def _check(
    info: InfoText, encoder: ValueEncoder, text: bytes, n_alt: int, haploid: bool = False
) -> object:
    packer = info.packer(encoder.picks)
    assert packer is not None
    packed = packer(text, n_alt, haploid)
    expected = _python(info, encoder, text, n_alt, haploid)
    if packed is not None:
        assert packed == expected, text
    else:
        assert expected is not None
    return packed


SETUPS = {
    "gnomad": _setup(GNOMAD_KEYS),
    "gnomad-wider-dataset": _setup(GNOMAD_KEYS, ("AMR", "NFE_M")),
    "gdi": _setup(GDI_KEYS),
}
GNOMAD_SETUPS = ["gnomad", "gnomad-wider-dataset"]


def _count() -> st.SearchStrategy[int]:
    # Every width: 1, 2 and 4 bytes, and the edges between them (a sum of two: 9 digits).
    return st.one_of(
        st.sampled_from([0, 1, 255, 256, 65535, 65536, 499_999_999]),
        st.integers(0, 255),
        st.integers(256, 65535),
        st.integers(65536, 499_999_999),
    )


@st.composite
def _part(draw: st.DrawFn, n_alt: int) -> tuple[int, list[int], list[int]]:
    """A valid (AN, ACs, homs) of one group: ``hom * 2 <= AC <= AN``."""
    an = draw(_count())
    acs = [draw(st.integers(0, an)) for _ in range(n_alt)]
    return an, acs, [draw(st.integers(0, ac // 2)) for ac in acs]


@st.composite
def plain_records(draw: st.DrawFn) -> tuple[list[tuple[str, str]], int]:
    """Valid plain INFO fields of every group and the ALT count.

    The total and ``afr`` are their female and male (``XY``) parts summed, so their
    counts are valid in haploid regions too (hemizygous = the male part's AC).
    """
    n_alt = draw(st.integers(1, 4))
    groups: dict[str, tuple[int, list[int], list[int]]] = {"_nfe": draw(_part(n_alt))}
    for base in ("", "_afr"):
        female, male = draw(_part(n_alt)), draw(_part(n_alt))
        groups[f"{base}_XX"] = female
        groups[f"{base}_XY"] = male
        groups[base] = (
            female[0] + male[0],
            [f + m for f, m in zip(female[1], male[1], strict=True)],
            [f + m for f, m in zip(female[2], male[2], strict=True)],
        )
    fields = [("AF", "0.5")]
    for suffix in SUFFIXES:
        an, acs, homs = groups[suffix]
        fields.append((f"AC{suffix}", ",".join(map(str, acs))))
        fields.append((f"AN{suffix}", str(an)))
        fields.append((f"nhomalt{suffix}", ",".join(map(str, homs))))
    return draw(st.permutations(fields)), n_alt


def _text(fields: list[tuple[str, str]]) -> bytes:
    return ";".join(f"{k}={v}" if v is not None else k for k, v in fields).encode()


@settings(max_examples=150, deadline=None)
@given(plain_records(), st.sampled_from(GNOMAD_SETUPS), st.booleans())
def test_plain_records_are_packed_as_python_packs_them(record, setup, haploid):
    fields, n_alt = record
    info, encoder = SETUPS[setup]
    assert _check(info, encoder, _text(fields), n_alt, haploid) is not None


#: Ways of spoiling one value (or the field) of a plain record.
SPOILERS = [
    lambda v: ".",
    lambda v: "-" + v,
    lambda v: "+" + v,
    lambda v: v + ".5",
    lambda v: v + "e3",
    lambda v: "0" + v,  # a leading zero is still a plain number
    lambda v: "1234567890",  # 10 digits
    lambda v: "4294967296",
    lambda v: v + ",1",
    lambda v: v.split(",")[0],
    lambda v: v + ",",
    lambda v: "," + v,
    lambda v: "",
    lambda v: v + "=1",
    lambda v: " " + v,
    lambda v: "1" + v + "000000",  # AC > AN, hom * 2 > AC
    lambda v: "x",
]


@settings(max_examples=250, deadline=None)
@given(
    plain_records(),
    st.sampled_from(GNOMAD_SETUPS),
    st.booleans(),
    st.data(),
)
def test_spoiled_records_are_refused_or_packed_alike(record, setup, haploid, data):
    fields, n_alt = record
    info, encoder = SETUPS[setup]
    fields = list(fields)
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(fields) - 1))
        key, value = fields[i]
        how = data.draw(st.integers(0, len(SPOILERS) + 4))
        if how < len(SPOILERS):
            fields[i] = (key, SPOILERS[how](value or "1"))
        elif how == len(SPOILERS):
            del fields[i]  # a key missing
        elif how == len(SPOILERS) + 1:
            fields.append(fields[i])  # a key repeated
        elif how == len(SPOILERS) + 2:
            fields[i] = (key, None)  # the key as a flag
        elif how == len(SPOILERS) + 3:
            fields.insert(i, ("lcr", None))  # an unrelated flag
        else:
            fields.insert(i, ("", None))  # an empty field
    _check(info, encoder, _text(fields), n_alt, haploid)


@pytest.mark.parametrize("n_alt", [1, 2])
@example(b"AC=1;AN=10;AC_Hom=0;AC_NO=1;AN_NO=4;AC_NO_Hom=0")
@example(b"AC=1;AN=10;AC_Hom=0;AC_Het=1;AC_NO=1;AN_NO=4;AC_NO_Hom=0")
@example(b"AC=1;AN=10;AC_Hom=0;AC_Hemi;AC_NO=1;AN_NO=4;AC_NO_Hom=0")
@given(st.binary(max_size=80))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_is_refused_or_packed_alike(n_alt, text):
    for setup in SETUPS.values():
        for haploid in (False, True):
            _check(*setup, text, n_alt, haploid)


def test_a_hand_packed_value():
    """Computed here from the format's definition, not by either encoder."""
    info, encoder = _setup(["AC", "AN", "nhomalt"], ("AFR",))
    packer = info.packer(encoder.picks)
    assert packer is not None
    packed = packer(b"AF=0.1;AC=300,3;AN=70000;nhomalt=100,1;lcr", 2, False)
    assert packed is not None
    total_an, parts = packed
    assert total_an == 70000
    present = 1 << 11
    # Allele 1: AC 300 (uint16), AN 70000 (uint32), hom 100 (uint8), het 100 (uint8).
    code = present | 2 | 3 << 2 | 1 << 4 | 1 << 6
    one = struct.pack("<HH", code, 0) + struct.pack("<HIBB", 300, 70000, 100, 100)
    code = present | 1 | 3 << 2 | 1 << 4 | 1 << 6
    two = struct.pack("<HH", code, 0) + struct.pack("<BIBB", 3, 70000, 1, 1)
    assert parts == ((one, b""), (two, b""))


def test_refused_het_key_and_unpackable_conventions():
    info, encoder = SETUPS["gdi"]
    packer = info.packer(encoder.picks)
    assert packer is not None
    plain = b"AC=1;AN=10;AC_Hom=0;AC_NO=1;AN_NO=4;AC_NO_Hom=0"
    assert packer(plain, 1, False) is not None
    assert packer(plain + b";AC_Het=1", 1, False) is None
    assert packer(plain + b";AC_Hemi", 1, True) is None
    # A group without a homozygous count: never the plain case, so no packer.
    frequency_only, enc = _setup(["AC", "AN", "nhomalt", "AC_afr", "AN_afr"])
    assert frequency_only.packer(enc.picks) is None


def test_format_constants_are_the_records_module_s():
    assert FORMAT["present"] == records._PRESENT
    assert FORMAT["source_af"] == records._SOURCE_AF
    assert FORMAT["absent"] == records.ABSENT
    assert FORMAT["counts"] == len(records.COUNT_FIELDS)


def _cell(counts: tuple[int | None, ...]) -> tuple[bytes, bytes]:
    """A group's code and counts by the format's definition (records.py docstring)."""
    code, packed = 1 << 11, b""
    for k, value in enumerate(counts):
        if value is not None:
            width = 1 if value < 256 else 2 if value < 65536 else 3
            code |= width << (2 * k)
            packed += struct.pack("<" + " BHI"[width], value)
    return struct.pack("<H", code), packed


def test_haploid_counts_by_hand():
    """Males hemizygous; a group with a male part takes its AC as hemizygous, less its hom."""
    info, encoder = SETUPS["gnomad"]
    text = (
        b"AC=10;AN=100;nhomalt=3;AC_XY=4;AN_XY=50;nhomalt_XY=1;AC_afr=6;AN_afr=40;nhomalt_afr=2;"
        b"AC_afr_XX=2;AN_afr_XX=20;nhomalt_afr_XX=0;AC_afr_XY=4;AN_afr_XY=20;nhomalt_afr_XY=3;"
        b"AC_nfe=5;AN_nfe=30;nhomalt_nfe=2"
    )
    want = {  # AC, AN, hom, het, hemi
        "": (10, 100, 2, 2, 4),
        "AFR": (6, 40, 0, 2, 4),  # hom 2 less the male part's 3: 0, not -1
        "AFR_F": (2, 20, 0, 2, None),
        "AFR_M": (4, 20, 0, 0, 4),
        "M": (4, 50, 0, 0, 4),
        "NFE": (5, 30, 2, 1, None),
    }
    assert encoder.codec.groups == list(want)
    cells = [_cell(counts) for counts in want.values()]
    head = b"".join(c[0] for c in cells) + b"".join(c[1] for c in cells)
    packer = info.packer(encoder.picks)
    assert packer is not None
    assert packer(text, 1, True) == (100, ((head, b""),))
    assert _python(info, encoder, text, 1, True) == (100, ((head, b""),))
    # Outside haploid regions AFR_M's 3 homozygotes need 6 alleles, not 4: an error there.
    assert packer(text, 1, False) is None
    assert _python(info, encoder, text, 1, False) is RecordError
