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

POPS = ("afr", "nfe")
#: gnomAD style: total, afr, afr_XX, nfe (file groups ``"", AFR, AFR_F, NFE``).
SUFFIXES = ("", "_afr", "_afr_XX", "_nfe")
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


def _python(info: InfoText, encoder: ValueEncoder, text: bytes, n_alt: int) -> object:
    """What the Python path makes of ``text``: (total AN, parts), or the error's class."""
    try:
        rows = info.rows(text, n_alt, False)
        parts = tuple(encoder.counts_part(row) for row in rows)
    except (RecordError, FallbackError) as exc:
        return type(exc)
    total = rows[0][0]
    assert total is not None
    return total[1], parts


def _check(info: InfoText, encoder: ValueEncoder, text: bytes, n_alt: int) -> object:
    packer = info.packer(encoder.picks)
    assert packer is not None
    packed = packer(text, n_alt)
    expected = _python(info, encoder, text, n_alt)
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
    # Every width: 1, 2 and 4 bytes, and the edges between them.
    return st.one_of(
        st.sampled_from([0, 1, 255, 256, 65535, 65536, 999_999_999]),
        st.integers(0, 255),
        st.integers(256, 65535),
        st.integers(65536, 999_999_999),
    )


@st.composite
def plain_records(draw: st.DrawFn) -> tuple[list[tuple[str, str]], int]:
    """Valid plain INFO fields of every group (``hom * 2 <= AC <= AN``) and the ALT count."""
    n_alt = draw(st.integers(1, 4))
    fields = []
    for suffix in SUFFIXES:
        an = draw(_count())
        acs = [draw(st.integers(0, an)) for _ in range(n_alt)]
        homs = [draw(st.integers(0, ac // 2)) for ac in acs]
        fields.append((f"AC{suffix}", ",".join(map(str, acs))))
        fields.append((f"AN{suffix}", str(an)))
        fields.append((f"nhomalt{suffix}", ",".join(map(str, homs))))
    fields.append(("AF", "0.5"))
    return draw(st.permutations(fields)), n_alt


def _text(fields: list[tuple[str, str]]) -> bytes:
    return ";".join(f"{k}={v}" if v is not None else k for k, v in fields).encode()


@settings(max_examples=150, deadline=None)
@given(plain_records(), st.sampled_from(GNOMAD_SETUPS))
def test_plain_records_are_packed_as_python_packs_them(record, setup):
    fields, n_alt = record
    info, encoder = SETUPS[setup]
    assert _check(info, encoder, _text(fields), n_alt) is not None


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
    st.data(),
)
def test_spoiled_records_are_refused_or_packed_alike(record, setup, data):
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
    _check(info, encoder, _text(fields), n_alt)


@pytest.mark.parametrize("n_alt", [1, 2])
@example(b"AC=1;AN=10;AC_Hom=0;AC_NO=1;AN_NO=4;AC_NO_Hom=0")
@example(b"AC=1;AN=10;AC_Hom=0;AC_Het=1;AC_NO=1;AN_NO=4;AC_NO_Hom=0")
@example(b"AC=1;AN=10;AC_Hom=0;AC_Hemi;AC_NO=1;AN_NO=4;AC_NO_Hom=0")
@given(st.binary(max_size=80))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_is_refused_or_packed_alike(n_alt, text):
    for setup in SETUPS.values():
        _check(*setup, text, n_alt)


def test_a_hand_packed_value():
    """Computed here from the format's definition, not by either encoder."""
    info, encoder = _setup(["AC", "AN", "nhomalt"], ("AFR",))
    packer = info.packer(encoder.picks)
    assert packer is not None
    packed = packer(b"AF=0.1;AC=300,3;AN=70000;nhomalt=100,1;lcr", 2)
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
    assert packer(plain, 1) is not None
    assert packer(plain + b";AC_Het=1", 1) is None
    assert packer(plain + b";AC_Hemi", 1) is None
    # A group without a homozygous count: never the plain case, so no packer.
    frequency_only, enc = _setup(["AC", "AN", "nhomalt", "AC_afr", "AN_afr"])
    assert frequency_only.packer(enc.picks) is None


def test_format_constants_are_the_records_module_s():
    assert FORMAT["present"] == records._PRESENT
    assert FORMAT["source_af"] == records._SOURCE_AF
    assert FORMAT["absent"] == records.ABSENT
    assert FORMAT["counts"] == len(records.COUNT_FIELDS)
