"""Plain VCF lines in C (``allelemesh_codec.pack_lines``) against the Python line path.

For any line, the compiled path either emits exactly the items (key, value, origin,
floor) and stats the Python path (:meth:`TextReader._line`) gives it, or declines it
with nothing emitted, and it declines every line the Python path refuses, falls back
on or counts with an error (so errors keep their wording: test_builder_text_path).
Plain lines must be taken (else these tests would pass with C declining everything);
whole files built through both paths (and pysam) store the same bytes and rsIDs.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path
from typing import Any

import lmdb
import pytest
from allelemesh_codec import pack_lines
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mesh.errors import IndexBuildError
from mesh.model.genome import Assembly, contig_length
from nodes.build._reader import Config, Stats
from nodes.build._text_reader import TextReader
from nodes.build.builder import BuildOptions, _build
from tests.nodes.helpers import read_raw
from tests.vcf_factory import GroupCounts, SiteRecord, write_gnomad_sites_vcf

GROUPS = ("", "_afr", "_nfe")
CHR1 = contig_length("1", Assembly.GRCH38)
FILTERS = ["PASS", ".", "AC0", "RF;AC0", "AC0;RF"]
IDS = [".", "rs12", "rs1;rs77", "RS5", "esv3;rs9"]


def _header(tmp: Path) -> Path:
    good = [SiteRecord("1", 100, "A", ["C"], GroupCounts(100, [5], [1]))]
    return write_gnomad_sites_vcf(tmp / "h.vcf", good, ["afr", "nfe"], bgzip=False)


@pytest.fixture(scope="module")
def header(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _header(tmp_path_factory.mktemp("pack-lines"))


def _reader(path: Path) -> TextReader:
    config = Config((str(path),), "ds", Assembly.GRCH38, None, None, None, skip=False)
    reader = TextReader(config, 0)
    assert reader.text
    compiled = reader._info_text.compiled_packer(reader.encoder.picks)
    assert compiled is not None
    reader._packer = reader._info_text.packer(reader.encoder.picks)
    return reader


READERS: dict[str, TextReader] = {}


def _shared_reader(header: Path) -> TextReader:
    """One reader per header file (its contig and filter tables fill as lines come)."""
    reader = READERS.get(str(header))
    if reader is None:
        reader = READERS[str(header)] = _reader(header)
    return reader


def _python(reader: TextReader, line: bytes) -> tuple[Any, list[tuple[Any, ...]], Stats]:
    items: list[tuple[Any, ...]] = []
    stats = Stats()
    try:
        outcome: Any = reader._line(line, lambda *item: items.append(item), stats)
    except IndexBuildError as exc:
        outcome = str(exc)
    return outcome, items, stats


def _compiled(reader: TextReader, lines: list[bytes], indels: bool = True) -> Any:
    items: list[tuple[Any, ...]] = []
    compiled = reader._info_text.compiled_packer(reader.encoder.picks)
    assert compiled is not None
    plain = reader._plain_lines(compiled, lambda *item: items.append(item))
    if not indels:  # as with a reference: indels and multi-allelic records are declined
        layout = plain.args[5]
        plain = pack_lines(*plain.args[:5], (*layout[:2], False, *layout[3:]), lines, 0)
        return plain, items
    return plain(lines, 0), items


def _check(reader: TextReader, line: bytes) -> bool:
    """Both paths on one line; whether C took it. The Python path runs first, so the
    contig and filter tables know the line's (as after any earlier line naming them)."""
    outcome, py_items, stats = _python(reader, line)
    (done, alleles, max_an), c_items = _compiled(reader, [line])
    if done == 0:
        assert c_items == []
        assert (alleles, max_an) == (0, 0)
        return False
    assert done == 1
    assert outcome is True, (line, outcome)
    assert c_items == py_items, line
    assert (alleles, max_an) == (stats.alleles, stats.max_an) == (len(py_items), stats.max_an)
    return True


@st.composite
def _counts(draw: st.DrawFn, n_alt: int) -> list[tuple[str, str]]:
    fields = []
    for suffix in GROUPS:
        an = draw(st.one_of(st.integers(0, 300), st.integers(0, 999_999_999)))
        acs = [draw(st.integers(0, an)) for _ in range(n_alt)]
        homs = [draw(st.integers(0, ac // 2)) for ac in acs]
        fields.append((f"AC{suffix}", ",".join(map(str, acs))))
        fields.append((f"AN{suffix}", str(an)))
        fields.append((f"nhomalt{suffix}", ",".join(map(str, homs))))
    fields.append(("AF", "0.5"))
    return draw(st.permutations(fields))


_BASES = st.text("ACGT", min_size=1, max_size=6)


@st.composite
def plain_lines(draw: st.DrawFn) -> bytes:
    """SNVs, indels and multi-allelic records of plain counts on chr1/chr2."""
    chrom = draw(st.sampled_from(["chr1", "chr2"]))
    length = contig_length(chrom[3:], Assembly.GRCH38)
    ref = draw(st.one_of(_BASES, st.text("ACGT", min_size=1, max_size=200)))
    n_alt = draw(st.integers(1, 4))
    alts = draw(
        st.lists(
            st.one_of(_BASES, st.text("ACGT", min_size=1, max_size=190)).filter(lambda a: a != ref),
            min_size=n_alt,
            max_size=n_alt,
        )
    )
    last = length - len(ref) + 1
    pos = draw(st.one_of(st.integers(1, last), st.sampled_from([1, 127, 128, 16384, last])))
    fields = draw(_counts(n_alt))
    info = ";".join(f"{k}={v}" for k, v in fields)
    cols = [chrom, str(pos), draw(st.sampled_from(IDS)), ref, ",".join(alts), "."]
    cols += [draw(st.sampled_from(FILTERS)), info]
    if draw(st.booleans()):
        cols.append("GT")  # a 9th column after INFO
    return "\t".join(cols).encode() + draw(st.sampled_from([b"", b"\r"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_lines())
@example(b"chr1\t100\t.\tA\tC\t.\tPASS\tAC=5;AN=100;nhomalt=1;AC_afr=0;AN_afr=0;nhomalt_afr=0;"
         b"AC_nfe=5;AN_nfe=10;nhomalt_nfe=2")  # fmt: skip
def test_plain_lines_are_taken_and_equal_to_python(header, line):
    reader = _shared_reader(header)
    long_pair = any(
        len(line.split(b"\t")[3]) + len(alt) >= 400 for alt in line.split(b"\t")[4].split(b",")
    )
    assert _check(reader, line) is not long_pair, line


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_lines())
def test_indels_are_declined_when_a_reference_may_left_align_them(header, line):
    reader = _shared_reader(header)
    _python(reader, line)
    (done, _, _), items = _compiled(reader, [line], indels=False)
    cols = line.split(b"\t")
    snv = len(cols[3]) == 1 and len(cols[4]) == 1
    assert done == (1 if snv else 0)
    assert len(items) == done


#: Ways of damaging one plain line (each may or may not still be a valid line).
DAMAGE = [
    lambda b, i, c: b[:i],  # truncated anywhere
    lambda b, i, c: b[:i] + bytes([c]) + b[i + 1 :],  # one byte replaced
    lambda b, i, c: b[:i] + bytes([c]) + b[i:],  # one byte inserted
    lambda b, i, c: b[:i] + b[i + 1 :],  # one byte deleted
    lambda b, i, c: b[:i] + b"\t" + b[i:],  # a column split
    lambda b, i, c: b[:i] + b"," + b[i:],
    lambda b, i, c: b[:i] + b";" + b[i:],
    lambda b, i, c: b[:i] + b"=" + b[i:],
    lambda b, i, c: b.replace(b"chr1\t", b"chrX\t", 1),  # haploid rules: Python's
    lambda b, i, c: b.replace(b"chr1\t", b"chrUn_KI270302v1\t", 1),
    lambda b, i, c: b.replace(b"chr2\t", b"chr17\t", 1),  # a contig first seen here
    lambda b, i, c: b.replace(b"\tPASS\t", b"\tNEWFILTER\t", 1),
    lambda b, i, c: b.replace(b"\t.\t", b"\t\t", 1),
]
_SPECIAL = b"\t,;=.<>*[]0123456789-+eACGTNacgt\r\x00\xff"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plain_lines(), st.data())
def test_damaged_lines_are_declined_or_taken_alike(header, line, data):
    reader = _shared_reader(header)
    for _ in range(data.draw(st.integers(1, 3))):
        how = data.draw(st.integers(0, len(DAMAGE) - 1))
        at = data.draw(st.integers(0, max(0, len(line) - 1)))
        byte = data.draw(st.one_of(st.sampled_from(list(_SPECIAL)), st.integers(0, 255)))
        line = DAMAGE[how](line, at, byte)
    _check(reader, line)


@given(st.binary(max_size=120))
@settings(max_examples=200, deadline=None)
def test_any_bytes_are_declined_or_taken_alike(header, text):
    _check(_shared_reader(header), b"chr1\t" + text)
    _check(_shared_reader(header), text)


def test_declined_lines_stop_the_call_in_order(header):
    """A batch is taken up to the first line C declines; nothing of that line is emitted."""
    reader = _reader(header)
    info = b"AC=5;AN=100;nhomalt=1;AC_afr=0;AN_afr=0;nhomalt_afr=0;AC_nfe=5;AN_nfe=10;nhomalt_nfe=2"
    two = b"AC=5,1;AN=100;nhomalt=1,0;AC_afr=0,0;AN_afr=0;nhomalt_afr=0,0;AC_nfe=5,0;AN_nfe=10;"
    snv = b"chr1\t%d\trs7\tA\tC,G\t.\tPASS\t" + two + b"nhomalt_nfe=2,0"
    lines = [snv % 10, snv % 20]
    (done, _, _), items = _compiled(reader, lines)
    assert done == 0
    assert items == []
    _python(reader, snv % 5)
    lines = [snv % 10, snv % 20, b"chr1\t30\t.\tA\tN\t.\tPASS\t" + info, snv % 40]
    (done, alleles, max_an), items = _compiled(reader, lines)
    assert (done, alleles, max_an) == (2, 4, 100)
    # Keys computed here from the format (contig code 1, big-endian position, REF>ALT).
    assert [item[0] for item in items] == [
        b"\x01" + (10).to_bytes(4, "big") + b"A>C",
        b"\x01" + (10).to_bytes(4, "big") + b"A>G",
        b"\x01" + (20).to_bytes(4, "big") + b"A>C",
        b"\x01" + (20).to_bytes(4, "big") + b"A>G",
    ]
    assert items[0][2] == (str(header), "chr1", 10, b"rs7")
    assert items[0][3] == b"\x01" + (0).to_bytes(4, "big")  # floor: position - 1000, >= 0


def _rsids(index: Path) -> set[tuple[bytes, bytes]]:
    version = Path(os.path.realpath(index))
    env = lmdb.open(str(version / "ids.mdb"), readonly=True, lock=False, subdir=False, max_dbs=1)
    try:
        db = env.open_db(b"rsids", dupsort=True, create=False)
        with env.begin(db=db) as txn:
            return set(txn.cursor().iternext())
    finally:
        env.close()


@pytest.mark.parametrize(("seed", "batch"), [(1, 20_000), (2, 7), (3, 1)])
def test_files_of_mixed_lines_store_what_pysam_stores(tmp_path, monkeypatch, seed, batch):
    """Plain lines (C), damaged and odd ones (Python, pysam) in one sorted file: the same
    index bytes, rsID table, records and alleles as the Python text path without C and
    as the pysam path."""
    rng = random.Random(seed)
    vcf = _header(tmp_path)
    lines = []
    for i in range(600):
        chrom = "chr1" if i < 400 else "chr2"
        pos = 1000 + 7 * i
        n_alt = rng.choice([1, 1, 1, 2, 3])
        ref = rng.choice(["A", "C", "AC", "GTT"])
        alts = rng.sample([a for a in ["G", "T", "CA", "ATTT", "C", "A"] if a != ref], n_alt)
        info = []
        for suffix in GROUPS:
            an = rng.choice([40, 300, 70_000])
            acs = [rng.randint(0, an // 4) for _ in alts]
            info += [f"AC{suffix}=" + ",".join(map(str, acs)), f"AN{suffix}={an}"]
            info.append(f"nhomalt{suffix}=" + ",".join(str(a // 3) for a in acs))
        text = "\t".join([chrom, str(pos), rng.choice(IDS), ref, ",".join(alts), "."])
        text += "\t" + rng.choice(FILTERS) + "\t" + ";".join(info)
        if rng.random() < 0.1:
            text = re.sub("AN_afr=[0-9]+", "AN_afr=.", text)  # the packer refuses it
        if rng.random() < 0.05:
            text = text.replace(f"\t{ref}\t", "\tN\t", 1)
        lines.append(text)
        if i % 50 == 7:
            lines.append(text)  # a duplicate of the line before
    vcf.write_text(vcf.read_text().rsplit("chr1\t100\t", 1)[0] + "\n".join(lines) + "\n")
    outcomes = []
    for way in ("compiled", "python", "pysam"):
        if way == "python":  # the text reader without pack_lines: every line by _line
            monkeypatch.setattr(TextReader, "_plain_lines", lambda *_: None)
        out = tmp_path / f"index-{way}"
        options = BuildOptions([vcf], "ds", out, progress=False, on_error="skip", batch_size=batch)
        report = _build(options, fast_text=way != "pysam")
        outcomes.append(
            (read_raw(out), _rsids(out), report.records, report.alleles, report.skipped)
        )
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0][3] > 800
    assert len(outcomes[0][1]) > 100
    assert outcomes[0][4]["duplicate"] >= 12


def test_a_duplicate_is_named_alike_on_both_paths(tmp_path, monkeypatch):
    """A repeated plain line: C emits both, the writer reports the second as Python's does."""
    info = b"AC=5;AN=100;nhomalt=1;AC_afr=0;AN_afr=0;nhomalt_afr=0;AC_nfe=5;AN_nfe=10;nhomalt_nfe=2"
    lines = [b"chr1\t%d\trs%d\tA\tC\t.\tPASS\t%s" % (p, p, info) for p in (50, 60, 60, 70)]
    vcf = _header(tmp_path)
    vcf.write_bytes(vcf.read_bytes().rsplit(b"chr1\t100\t", 1)[0] + b"\n".join(lines) + b"\n")
    messages = []
    for way in ("compiled", "python"):
        if way == "python":
            monkeypatch.setattr(TextReader, "_plain_lines", lambda *_: None)
        options = BuildOptions([vcf], "ds", tmp_path / way, progress=False)
        with pytest.raises(IndexBuildError, match="both normalize to") as caught:
            _build(options, fast_text=True)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert "chr1:60" in messages[0]


def test_a_filter_that_is_not_utf8_goes_to_pysam(tmp_path, header):
    """Found by the damage test: both paths raised UnicodeDecodeError (a traceback)."""
    info = b"AC=5;AN=100;nhomalt=1;AC_afr=0;AN_afr=0;nhomalt_afr=0;AC_nfe=5;AN_nfe=10;nhomalt_nfe=2"
    line = b"chr1\t100\t.\tA\tC\t.\t\x80ASS\t" + info
    reader = _reader(header)
    assert _python(reader, line)[0] is False  # falls back to pysam
    assert _check(reader, line) is False
    vcf = tmp_path / "f.vcf"
    vcf.write_bytes(header.read_bytes().rsplit(b"chr1\t100\t", 1)[0] + line + b"\n")
    outcomes = []
    for fast in (True, False):
        options = BuildOptions([vcf], "ds", tmp_path / f"i{fast}", progress=False)
        with pytest.raises(IndexBuildError, match="FILTER is not UTF-8") as caught:
            _build(options, fast_text=fast)  # an error naming the record, not a traceback
        outcomes.append(str(caught.value))
    assert outcomes[0] == outcomes[1]
