"""Real files of the field, from Debian's packages, built and checked lookup by lookup.

* ``vcfanno-examples``: ``example/exac.vcf.gz``, the ExAC r0.3 sites excerpt as vcfanno
  and GEMINI users have it (148 records, decomposed by ``vt decompose``: the split
  lines keep ExAC's arrays in the original allele order, ``OLD_MULTIALLELIC`` says
  which value is theirs; ``AC_Het`` holds one value per heterozygous genotype).
* ``python-pyvcf-examples``: ``1kg.sites.vcf.gz`` (1000 Genomes phase 1 sites: ``AC``
  declared ``Number=.``, population frequencies ``AFR_AF``...) and
  ``gonl.chr20.release4.gtc.vcf.gz`` (GoNL: genotype counts ``GTC``, ``Number=G``).

The packages are downloaded once (``apt-get download``) into a cache; without apt or
the network the tests skip outside CI and fail under ``CI=true``. Expected counts are
read off the files' text here (or by ``bcftools query``), never by the builder.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from mesh.errors import IndexBuildError
from nodes.build.builder import BuildOptions, build_index
from nodes.index.index_dir import read_metadata
from tests.count_helpers import as_tuple
from tests.nodes.helpers import counts_by_label, lookup, read_raw, require_tool

EXAC_POPS = ("AFR", "AMR", "EAS", "FIN", "NFE", "OTH", "SAS")


def _cache() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return root / "allelemesh-tests" / "debian"


def debian_file(package: str, path: str) -> Path:
    """``path`` inside Debian package ``package``, downloaded and unpacked once."""
    target = _cache() / package
    wanted = target / path
    if wanted.exists():
        return wanted
    apt = require_tool("apt-get", "Debian's apt, to download the package")
    dpkg = require_tool("dpkg-deb", "Debian's dpkg")
    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run(
            [apt, "download", package], cwd=tmp, capture_output=True, text=True, check=False
        )
        if got.returncode != 0 and os.geteuid() == 0:  # no package lists yet
            subprocess.run([apt, "update", "-qq"], capture_output=True, check=False)
            got = subprocess.run(
                [apt, "download", package], cwd=tmp, capture_output=True, text=True, check=False
            )
        debs = list(Path(tmp).glob(f"{package}_*.deb"))
        if got.returncode != 0 or not debs:
            message = f"cannot download Debian package {package}: {got.stderr.strip()[-200:]}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run([dpkg, "-x", str(debs[0]), str(target)], check=True)
    assert wanted.exists(), f"{package} no longer ships {path}"
    return wanted


def _text(path: Path, tmp_path: Path) -> Path:
    """A plain-gzip file (not BGZF: htslib refuses it) as the VCF text it holds."""
    out = tmp_path / path.name.removesuffix(".gz")
    with gzip.open(path, "rb") as source:
        out.write_bytes(source.read())
    return out


def _data_lines(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt") as text:
        return [line.rstrip("\n").split("\t") for line in text if not line.startswith("#")]


def _info(column: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in column.split(";") if "=" in p)


def _exac_expected(cols: list[str]) -> dict[str, tuple]:
    """One ExAC line's counts per label, read as ExAC documents its fields."""
    info = _info(cols[7])
    alt = cols[4]
    original = (
        info["OLD_MULTIALLELIC"].rsplit(":", 1)[1].split("/")[1:]
        if "OLD_MULTIALLELIC" in info
        else [alt]
    )
    i = original.index(alt)

    def value(key: str) -> int:
        return int(info[key].split(",")[i])

    rows = {}
    for label, ac, an, hom in [("", "AC_Adj", "AN_Adj", "AC_Hom")] + [
        (p, f"AC_{p}", f"AN_{p}", f"Hom_{p}") for p in EXAC_POPS
    ]:
        if ac not in info:
            continue
        count, homs = value(ac), value(hom)
        rows[label] = (count, int(info[an]), homs, count - 2 * homs, None)
    return rows


def test_exac_split_by_vt_reads_every_line_s_own_counts():
    exac = debian_file("vcfanno-examples", "usr/share/doc/vcfanno-examples/example/exac.vcf.gz")
    lines = _data_lines(exac)
    assert len(lines) == 148
    split = [c for c in lines if "OLD_MULTIALLELIC=" in c[7]]
    assert len(split) == 11  # the 11 of 148
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "exac"
        report = build_index(
            BuildOptions(inputs=[exac], dataset_id="exac", out=out, assembly="GRCh37")
        )
        assert report.variant_count == 148
        assert report.skipped == {"invalid": 0, "symbolic": 0, "duplicate": 0}
        meta = read_metadata(out)
        assert meta.info_convention == "exac"
        assert meta.convention["allele_split"] == "vt"
        assert "het" not in meta.convention["groups"]["total"]  # per genotype: derived
        for cols in lines:
            got = counts_by_label(lookup(out, "1", int(cols[1]), cols[3], cols[4]))
            assert got == _exac_expected(cols), cols[:5]


def test_exac_without_the_vt_tag_names_the_tag_it_needed(tmp_path):
    exac = debian_file("vcfanno-examples", "usr/share/doc/vcfanno-examples/example/exac.vcf.gz")
    with gzip.open(exac, "rt") as text:
        kept = [
            line
            for line in text
            if "ID=OLD_MULTIALLELIC" not in line and "ID=OLD_VARIANT" not in line
        ]
    untagged = tmp_path / "exac-untagged.vcf"
    untagged.write_text(
        "".join(line.replace(";OLD_MULTIALLELIC=1:13404:G/A/T", "") for line in kept)
    )
    with pytest.raises(IndexBuildError) as caught:
        build_index(
            BuildOptions(inputs=[untagged], dataset_id="e", out=tmp_path / "i", assembly="GRCh37")
        )
    assert (
        "record 1:13404: AC_Adj has 2 values but ALT has 1 allele; a record split by vt "
        "decompose needs OLD_MULTIALLELIC (or OLD_VARIANT from vt normalize)"
    ) in caught.value.message


def test_1000_genomes_sites_with_number_dot_and_population_frequencies(tmp_path):
    sites = debian_file("python-pyvcf-examples", "usr/share/doc/python3-vcf/test/1kg.sites.vcf.gz")
    bcftools = require_tool("bcftools", "Debian package bcftools")
    info_map = tmp_path / "1kg.toml"
    info_map.write_text(
        '[total]\nac = "AC"\nan = "AN"\n'
        + "".join(f'[populations.{p}]\naf = "{p}_AF"\n' for p in ("AFR", "AMR", "ASN", "EUR"))
    )
    out = tmp_path / "1kg"
    build_index(
        BuildOptions(
            inputs=[_text(sites, tmp_path)],
            dataset_id="1kg",
            out=out,
            assembly="GRCh37",
            info_map=info_map,
        )
    )
    query = subprocess.run(
        [bcftools, "query", "-f", "%POS\t%REF\t%ALT\t%AC\t%AN\t%AFR_AF\t%EUR_AF\n", str(sites)],
        check=True,
        capture_output=True,
        text=True,
    )
    rows = [line.split("\t") for line in query.stdout.splitlines()]
    assert len(rows) == 171
    for pos, ref, alt, ac, an, afr, eur in rows:
        freq = lookup(out, "1", int(pos), ref, alt)
        assert as_tuple(freq.counts) == (int(ac), int(an), None, None, None)
        assert freq.counts.allele_frequency == int(ac) / int(an)
        by_label = {p.population: p.counts for p in freq.populations}
        for label, text in (("AFR", afr), ("EUR", eur)):
            if text == ".":
                assert label not in by_label
                continue
            assert not by_label[label].HasField("allele_count")
            assert by_label[label].allele_frequency == pytest.approx(float(text), rel=1e-6)


def test_gonl_genotype_counts_number_g_give_the_homozygous_counts(tmp_path):
    gonl = debian_file(
        "python-pyvcf-examples", "usr/share/doc/python3-vcf/test/gonl.chr20.release4.gtc.vcf.gz"
    )
    info_map = tmp_path / "gonl.toml"
    info_map.write_text('[total]\nac = "AC"\nan = "AN"\nhom = "GTC"\n')
    out = tmp_path / "gonl"
    build_index(
        BuildOptions(
            inputs=[_text(gonl, tmp_path)],
            dataset_id="gonl",
            out=out,
            assembly="GRCh37",
            info_map=info_map,
        )
    )
    lines = _data_lines(gonl)
    assert len(read_raw(out)) == sum(len(c[4].split(",")) for c in lines)
    for cols in lines:
        info = _info(cols[7])
        gtc = [int(v) for v in info["GTC"].split(",")]
        for a, alt in enumerate(cols[4].split(","), start=1):
            ac = int(info["AC"].split(",")[a - 1])
            hom = gtc[a * (a + 1) // 2 + a]  # the a/a genotype, in VCF's genotype order
            want = (ac, int(info["AN"]), hom, ac - 2 * hom, None)
            assert counts_by_label(lookup(out, "20", int(cols[1]), cols[3], alt))[""] == want
            if len(gtc) == 3:  # biallelic: the het count is GTC's 0/1 entry
                assert want[3] == gtc[1]
