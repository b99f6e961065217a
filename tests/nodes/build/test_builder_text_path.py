"""The fast text reader stores exactly what the pysam reader stores, byte for byte."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mesh.errors import IndexBuildError
from nodes.build import _vcf_text
from nodes.build.builder import BuildOptions, BuildReport, _build
from tests.nodes.build.test_builder_sites import POPS, gnomad_records
from tests.nodes.helpers import read_raw
from tests.vcf_factory import GroupCounts, SiteRecord, write_gnomad_sites_vcf, write_sites_vcf

BAD_LINES = [
    "chr1\t200\t.\tA\tC,G\t.\tPASS\tAC=1;AN=10;nhomalt=0,0",
    "chr1\t210\t.\tA\tC\t.\tPASS\tAC=12;AN=10;nhomalt=0",
    "chr1\t220\t.\tA\tC\t.\tPASS\tAC=1;nhomalt=0",
    "chr1\t230\t.\tA\tC\t.\tPASS\tAC=4;AN=10;nhomalt=3",
    "chrUn_KI270302v1\t240\t.\tA\tC\t.\tPASS\tAC=1;AN=10;nhomalt=0",
    "chr1\t250\t.\tA\tCQ\t.\tPASS\tAC=1;AN=10;nhomalt=0",
    "chr1\t248956422\t.\tAC\tA\t.\tPASS\tAC=1;AN=10;nhomalt=0",
    "chr1\t260\t.\tA\tC\t.\tPASS\tAC=.;AN=10;nhomalt=0",
    "chr1\t270\t.\tA\tC\t.\tPASS\tAC=abc;AN=10;nhomalt=0",
    "chr1\t280\t.\tA\tC\t.\tPASS\tAC=1;AN=10,20;nhomalt=0",
    "chr1\t300\t.\tA\tC\t.\tPASS\tAC;AN=10;nhomalt=0",
    "chr1\t310\t.\tA\tC\t.\tPASS\tAC=-1;AN=10;nhomalt=0",
    "chr1\t320\t.\tA\tC\t.\tPASS\tAC=2147483648;AN=10;nhomalt=0",
    "chr1\t330\t.\tA\tA\t.\tPASS\tAC=1;AN=10;nhomalt=0",
    "chr1\t0\t.\tA\tC\t.\tPASS\tAC=1;AN=10;nhomalt=0",
    "chr1\t340\t.\tA\tC\t.\tPASS\t.",
    "chr1\t360\t.\tA\tC\t.\tPASS\tAC=4294967296;AN=4294967296;nhomalt=0",
    "chrX\t5000000\t.\tG\tA\t.\tPASS\tAC=3;AN=10;nhomalt=3",
]
GOOD_ODD_LINES = [
    "chr1\t400\t.\ta\tg\t.\tPASS\tAC=1;AN=10;nhomalt=0",  # lower case
    "chr1\t410\t.\tN\tA\t.\tPASS\tAC=1;AN=10;nhomalt=0",
    "chr1\t420\t.\tACGT\tAGGT,ACGTACGT\t.\tq10;AC0\tAC=1,2;AN=10;nhomalt=0,1;lcr;FS=.",
    "chr1\t430\t.\tA\tC\t.\t.\tlcr;AC=1;AN=10;nhomalt=0;",
    "chr1\t440\t.\tA\tT\t.\tPASS\tAC=1;AN=10;nhomalt=.",
    "chr1\t450\t.\tA\t.\t.\tPASS\tAC=1;AN=10;nhomalt=0",
    "chr1\t460\t.\tA\t<DEL>,*,G\t.\tPASS\tAC=1,1,1;AN=10;nhomalt=0,0,0",
    "chr1\t470\t.\tA\tA[chr2:100[\t.\tPASS\tAC=1;AN=10;nhomalt=0",
    "chr1\t480\t.\t" + "A" * 300 + "\t" + "C" * 250 + "\t.\tPASS\tAC=1;AN=10;nhomalt=0",
    "chrX\t2000000\t.\tG\tA\t.\tPASS\tAC=3;AN=10;nhomalt=1",
    "chrY\t10000000\t.\tC\tT,G\t.\tPASS\tAC=3,1;AN=10;nhomalt=0,0",
    "chr2\t500\t.\tA\tC\t.\tPASS\tAC=1;AN=10;nhomalt=0;XX=3",
    "chr1\t290\t.\tA\tC\t.\tPASS\tAC=1;AN=10;AC=2;nhomalt=0",  # pysam: the first AC
    "chr1\t350\t.\tA\tC,\t.\tPASS\tAC=1,1;AN=10;nhomalt=0,0",  # htslib: one ALT
]


def _both(tmp_path: Path, inputs: list[Path], **kw: object) -> tuple[BuildReport, BuildReport]:
    reports = []
    for fast in (True, False):
        out = tmp_path / f"index-{fast}"
        options = BuildOptions(inputs=inputs, dataset_id="ds", out=out, progress=False, **kw)  # type: ignore[arg-type]
        reports.append(_build(options, fast_text=fast))
    fast_raw, pysam_raw = read_raw(tmp_path / "index-True"), read_raw(tmp_path / "index-False")
    assert fast_raw == pysam_raw
    assert list(fast_raw) == list(pysam_raw)
    a, b = reports
    assert (a.records, a.alleles, a.variant_count, a.skipped) == (
        b.records,
        b.alleles,
        b.variant_count,
        b.skipped,
    )
    for name in ("sample_count", "populations", "info_convention", "source_sha256"):
        assert getattr(a.metadata, name) == getattr(b.metadata, name), name
    return a, b


def _random_records(seed: int, chrom: str, n: int) -> list[SiteRecord]:
    rng = random.Random(seed)
    pos, records = 9_000, []
    for _ in range(n):
        pos += rng.randint(1, 400)
        ref = "".join(rng.choice("ACGT") for _ in range(rng.choice([1, 1, 1, 2, 4])))
        alts: list[str] = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            alt = "".join(rng.choice("ACGT") for _ in range(rng.choice([1, 1, 2, 3])))
            if alt != ref and alt not in alts:
                alts.append(alt)
        if not alts:
            continue
        an = rng.randint(10, 5000)
        ac = [rng.randint(0, an // (2 * len(alts))) for _ in alts]
        pops = {}
        for label in POPS:
            p_an = rng.randint(0, an)
            p_ac = [min(a, p_an // len(alts)) for a in ac]
            pops[label] = GroupCounts(p_an, p_ac, [x // 3 for x in p_ac])
        records.append(
            SiteRecord(
                chrom,
                pos,
                ref,
                alts,
                GroupCounts(an, ac, [a // 3 for a in ac]),
                pops,
                filters=rng.choice([[], ["AC0"], ["AC0", "RF"]]),
            )
        )
    return records


@pytest.mark.parametrize("form", ["bgzip", "plain", "bcf"])
def test_gnomad_records_in_every_form(tmp_path, form):
    records = gnomad_records() + _random_records(1, "1", 300)
    records.sort(key=lambda r: ({"1": 1, "2": 2, "17": 17}.get(r.chrom, 30), r.pos))
    if form == "bcf":
        vcf = write_sites_vcf(tmp_path / "g.bcf", records, POPS, style="gnomad", bcf=True)
    else:
        vcf = write_gnomad_sites_vcf(tmp_path / "g.vcf", records, POPS, bgzip=form == "bgzip")
    _both(tmp_path, [vcf], on_error="skip")


def test_x_y_par_and_haploid(tmp_path):
    records = _random_records(2, "X", 150) + _random_records(3, "Y", 80)
    for i, rec in enumerate(records):  # spread over both PARs and the non-PAR middle
        rec.pos = [20_000, 2_800_000, 60_000_000, 155_800_000][i % 4] + i * 7
    records.sort(key=lambda r: (r.chrom, r.pos))
    vcf = write_gnomad_sites_vcf(tmp_path / "x.vcf", records, POPS)
    _both(tmp_path, [vcf], on_error="skip")


def test_exac_gdi_and_basic(tmp_path):
    exac = _random_records(4, "1", 100)
    for rec in exac:
        rec.populations = {k: v for k, v in rec.populations.items() if k in ("AFR", "NFE", "M")}
        rec.total.hemi = [0] * len(rec.alts)
    a = write_sites_vcf(
        tmp_path / "e.vcf", exac, ["AFR", "NFE", "M"], style="exac", with_hemi=True, bgzip=True
    )
    _both(tmp_path / "exac", [a], on_error="skip")
    labels = ["NO", "NO_F", "NO_M", "FI"]
    gdi = _random_records(5, "2", 100)
    for rec in gdi:
        rec.populations = {
            label: GroupCounts(rec.total.an, [0] * len(rec.alts), [0] * len(rec.alts))
            for label in labels
        }
    b = write_sites_vcf(tmp_path / "gdi.vcf", gdi, labels, style="gdi")
    _both(tmp_path / "gdi", [b], on_error="skip")
    c = write_sites_vcf(tmp_path / "b.vcf", gdi, style="basic", with_hom=False, bgzip=True)
    _both(tmp_path / "basic", [c], on_error="skip")


def test_info_map(tmp_path):
    records = _random_records(6, "1", 50)
    vcf = write_sites_vcf(tmp_path / "m.vcf", records, ["NFE"], style="gdi")
    text = vcf.read_text().replace("AC_NFE", "CNT_NFE").replace("AN_NFE", "NUM_NFE")
    vcf.write_text(text)
    info_map = tmp_path / "map.toml"
    info_map.write_text(
        '[total]\nac = "AC"\nan = "AN"\nhom = "nhomalt"\n\n'
        '[populations.NO]\nac = "CNT_NFE"\nan = "NUM_NFE"\n'
    )
    _both(tmp_path, [vcf], info_map=info_map, on_error="skip")


def _odd_file(tmp_path: Path, lines: list[str], bgzip: bool) -> Path:
    good = [SiteRecord("1", 100, "A", ["C"], GroupCounts(100, [5], [1]))]
    vcf = write_sites_vcf(tmp_path / "odd.vcf", good, style="basic", extra_info="")
    text = vcf.read_text().replace(
        "##INFO=<ID=AF", '##INFO=<ID=lcr,Number=0,Type=Flag,Description="x">\n##INFO=<ID=AF'
    )
    text = text.replace("#CHROM", '##INFO=<ID=FS,Number=1,Type=Float,Description="x">\n#CHROM')
    vcf.write_text(text + "\n".join(lines) + "\n")
    if bgzip:  # unsorted and bad coordinates: compressed, not indexed
        import pysam

        pysam.tabix_compress(str(vcf), f"{vcf}.gz", force=True)
        return Path(f"{vcf}.gz")
    return vcf


@pytest.mark.parametrize("bgzip", [False, True])
def test_malformed_and_odd_records_with_skip(tmp_path, bgzip):
    vcf = _odd_file(tmp_path, [*GOOD_ODD_LINES, *BAD_LINES], bgzip)
    fast, _ = _both(tmp_path, [vcf], on_error="skip")
    assert fast.skipped["invalid"] >= 10


@pytest.mark.parametrize("line", BAD_LINES + GOOD_ODD_LINES)
def test_errors_name_the_same_record_and_problem(tmp_path, line):
    vcf = _odd_file(tmp_path, [line], bgzip=False)
    outcomes = []
    for fast in (True, False):
        options = BuildOptions(inputs=[vcf], dataset_id="ds", out=tmp_path / f"i{fast}")
        try:
            _build(options, fast_text=fast)
        except IndexBuildError as exc:
            outcomes.append(str(exc))
        else:
            outcomes.append(read_raw(tmp_path / f"i{fast}"))
    assert outcomes[0] == outcomes[1]
    if line in BAD_LINES:
        assert isinstance(outcomes[0], str), "a bad line must fail the build"
        assert str(vcf) in outcomes[0]
        chrom, pos = line.split("\t")[:2]
        assert f"{chrom}:{pos}" in outcomes[0]


def test_jobs_two_byte_ranges_match_pysam(tmp_path):
    records = _random_records(7, "1", 3000) + _random_records(8, "2", 2000)
    vcf = write_gnomad_sites_vcf(tmp_path / "j.vcf", records, POPS)
    (tmp_path / "j.vcf.gz.tbi").unlink()  # byte ranges need no index
    one = _build(BuildOptions([vcf], "ds", tmp_path / "one", progress=False), fast_text=False)
    two = _build(BuildOptions([vcf], "ds", tmp_path / "two", jobs=2), fast_text=True)
    assert read_raw(tmp_path / "one") == read_raw(tmp_path / "two")
    assert (one.records, one.alleles, one.skipped) == (two.records, two.alleles, two.skipped)


def test_byte_ranges_own_every_line_once(tmp_path):
    records = _random_records(9, "1", 4000)
    vcf = write_gnomad_sites_vcf(tmp_path / "r.vcf", records, POPS)
    whole = [line for batch in _vcf_text.line_batches(str(vcf), "BGZF") for line in batch]
    size = vcf.stat().st_size
    for step in (70_000, 100_003, 250_000):
        parts = []
        with vcf.open("rb") as handle:
            starts = [_vcf_text.block_start(handle, s, size) for s in range(0, size, step)]
        for start, end in zip(starts, [*starts[1:], size], strict=True):
            if start < end:
                parts.extend(
                    line for b in _vcf_text.range_lines(str(vcf), start, end) for line in b
                )
        assert parts == whole
