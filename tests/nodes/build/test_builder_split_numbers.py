"""Multi-allelic records and ``bcftools norm -m-`` output; arrays read by their declared Number.

``bcftools norm -m-`` splits every ``Number=A``/``R``/``G`` array per allele; the
builder splits multi-allelic records itself. Both must store the same records: the
index of the split file is compared byte for byte with the multi-allelic file's, and
every lookup with the counts computed here from the records. ``Number=R`` arrays
(reference first, as Hail's ``variant_qc`` ``AC``/``homozygote_count`` are exported)
and ``Number=G`` genotype-ordered arrays (``0/0, 0/1, 1/1, 0/2, 1/2, 2/2``) are read
by their declared Number, never by their length.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pysam
import pytest

from mesh.errors import IndexBuildError
from nodes.build.builder import BuildOptions, build_index
from nodes.index.index_dir import read_metadata
from tests.nodes.helpers import counts_by_label, lookup, read_raw, require_tool
from tests.vcf_factory import GroupCounts, SiteRecord, expected_site_counts, write_sites_vcf

POPULATIONS = ["AFR", "NFE_F", "F", "M"]


def _records() -> list[SiteRecord]:
    rng = random.Random(1518)
    out = []
    for i in range(40):
        ref = rng.choice("ACGT")
        alts = rng.sample([b for b in "ACGT" if b != ref], rng.randint(1, 3))
        if i % 5 == 0:
            alts.append(ref + "TT")  # an insertion beside the substitutions
        an = 2 * rng.randint(1000, 3000)
        groups = {}
        for label in ("", *POPULATIONS):
            g_an = an if not label else an // 4
            ac = [rng.randint(0, g_an // (3 * len(alts))) for _ in alts]
            groups[label] = GroupCounts(an=g_an, ac=ac, hom=[rng.randint(0, a // 3) for a in ac])
        total = groups.pop("")
        out.append(SiteRecord("1", 1_000_000 + 1000 * i, ref, alts, total, groups))
    return out


def _trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _bcftools_split(source: Path, out: Path, fmt: str = "z") -> Path:
    bcftools = require_tool("bcftools", "Debian package bcftools")
    subprocess.run(
        [bcftools, "norm", "-m-", f"-O{fmt}", "-o", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    subprocess.run([bcftools, "index", "-t" if fmt == "z" else "-c", str(out)], check=True)
    return out


def _build(path: Path, out: Path, info_map: Path | None = None) -> Path:
    build_index(BuildOptions(inputs=[path], dataset_id="d", out=out, info_map=info_map))
    return out


def test_bcftools_norm_split_gives_the_multiallelic_file_s_bytes(tmp_path):
    records = _records()
    multi_vcf = write_sites_vcf(tmp_path / "multi.vcf", records, POPULATIONS, bgzip=True)
    multi = _build(multi_vcf, tmp_path / "multi")
    for rec in records:
        for alt, want in zip(rec.alts, expected_site_counts(rec), strict=True):
            assert counts_by_label(lookup(multi, "1", *_trim(rec.pos, rec.ref, alt))) == want
    split_vcf = _bcftools_split(multi_vcf, tmp_path / "split.vcf.gz")
    split = _build(split_vcf, tmp_path / "split")
    assert read_raw(split) == read_raw(multi)
    assert read_metadata(split).convention["allele_split"] == "bcftools"
    # BCF with a .csi, split by bcftools: the same again.
    split_bcf = _bcftools_split(multi_vcf, tmp_path / "split.bcf", fmt="b")
    assert read_raw(_build(split_bcf, tmp_path / "bcf")) == read_raw(multi)


# ----------------------------------------------------------------------------- Number=R / G


def _genotype_counts(rng: random.Random, n_alt: int, people: int) -> list[int]:
    """Counts of each diploid genotype in VCF order (j/k at k*(k+1)/2 + j)."""
    calls = [
        sorted(rng.choices(range(n_alt + 1), weights=[6] + [1] * n_alt, k=2)) for _ in range(people)
    ]
    counts = [0] * ((n_alt + 1) * (n_alt + 2) // 2)
    for j, k in calls:
        counts[k * (k + 1) // 2 + j] += 1
    return counts


def _write_number_r_g(path: Path) -> tuple[Path, list[tuple[int, str, list[str], list[int]]]]:
    """Hail-style ``AC``/``homozygote_count`` (Number=R) and ``GTC`` (Number=G) from genotypes."""
    rng = random.Random(20)
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1,length=248956422>",
        '##INFO=<ID=AC,Number=R,Type=Integer,Description="Allele count, reference first">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">',
        '##INFO=<ID=homozygote_count,Number=R,Type=Integer,Description="Homozygotes per allele">',
        '##INFO=<ID=GTC,Number=G,Type=Integer,Description="Genotype counts">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    sites = []
    for i in range(30):
        ref = rng.choice("ACGT")
        alts = rng.sample([b for b in "ACGT" if b != ref], rng.randint(1, 3))
        gtc = _genotype_counts(rng, len(alts), 200)
        pairs = [(j, k) for k in range(len(alts) + 1) for j in range(k + 1)]
        ac = [
            sum(n * ((j == a) + (k == a)) for (j, k), n in zip(pairs, gtc, strict=True))
            for a in range(len(alts) + 1)
        ]
        hom = [gtc[a * (a + 1) // 2 + a] for a in range(len(alts) + 1)]
        pos = 2_000_000 + 100 * i
        info = f"AC={','.join(map(str, ac))};AN=400;homozygote_count={','.join(map(str, hom))};"
        info += f"GTC={','.join(map(str, gtc))}"
        lines.append(f"1\t{pos}\t.\t{ref}\t{','.join(alts)}\t.\tPASS\t{info}")
        sites.append((pos, ref, alts, gtc))
    path.write_text("\n".join(lines) + "\n")
    return Path(pysam.tabix_index(str(path), preset="vcf", force=True)), sites


def _map(tmp_path: Path, hom: str) -> Path:
    path = tmp_path / f"map-{hom}.toml"
    path.write_text(f'[total]\nac = "AC"\nan = "AN"\nhom = "{hom}"\n')
    return path


@pytest.mark.parametrize("hom", ["homozygote_count", "GTC"])
def test_number_r_and_g_arrays_are_read_by_their_declared_number(tmp_path, hom):
    source, sites = _write_number_r_g(tmp_path / "hail.vcf")
    info_map = _map(tmp_path, hom)
    multi = _build(source, tmp_path / "multi", info_map)
    for pos, ref, alts, gtc in sites:
        n = len(alts)
        pairs = [(j, k) for k in range(n + 1) for j in range(k + 1)]
        for a, alt in enumerate(alts, start=1):
            ac = sum(c * ((j == a) + (k == a)) for (j, k), c in zip(pairs, gtc, strict=True))
            homs = gtc[a * (a + 1) // 2 + a]
            got = counts_by_label(lookup(multi, "1", pos, ref, alt))
            assert got == {"": (ac, 400, homs, ac - 2 * homs, None)}, (pos, alt)
    split = _build(_bcftools_split(source, tmp_path / "split.vcf.gz"), tmp_path / "split", info_map)
    assert read_raw(split) == read_raw(multi)


def test_an_r_array_of_the_wrong_length_is_named_with_its_number(tmp_path):
    source, _ = _write_number_r_g(tmp_path / "hail.vcf")
    text = pysam.BGZFile(str(source), "rb").read().decode()
    line = next(x for x in text.splitlines() if x.startswith("1\t"))
    cols = line.split("\t")
    n_alt = len(cols[4].split(","))
    ac = cols[7].split(";")[0]
    broken = text.replace(line, line.replace(ac + ";", ac.rsplit(",", 1)[0] + ";", 1))
    (tmp_path / "broken.vcf").write_text(broken)
    want = (
        rf"record 1:{cols[1]}: AC \(Number=R, reference first\) has {n_alt} values? but the "
        rf"record has {n_alt + 1} alleles"
    )
    with pytest.raises(IndexBuildError, match=want):
        _build(tmp_path / "broken.vcf", tmp_path / "index", _map(tmp_path, "GTC"))


def test_a_bcf_with_an_info_number_g_key(tmp_path):
    """pysam cannot decode INFO Number=G: unread, it is no obstacle; needed, a clear refusal."""
    source, _ = _write_number_r_g(tmp_path / "hail.vcf")
    bcf = tmp_path / "hail.bcf"
    with (
        pysam.VariantFile(str(source)) as src,
        pysam.VariantFile(str(bcf), "wb", header=src.header) as dst,
    ):
        for rec in src:
            dst.write(rec)
    multi = _build(source, tmp_path / "text", _map(tmp_path, "homozygote_count"))
    from_bcf = _build(bcf, tmp_path / "bcf", _map(tmp_path, "homozygote_count"))
    assert read_raw(from_bcf) == read_raw(multi)
    with pytest.raises(
        IndexBuildError, match=r"hail\.bcf: INFO GTC is Number=G, which htslib reads only in FORMAT"
    ):
        _build(bcf, tmp_path / "g", _map(tmp_path, "GTC"))
