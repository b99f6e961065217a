"""Bad input: a clear IndexBuildError (file, chrom:pos, problem) and nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.errors import IndexBuildError
from nodes.build.builder import BuildOptions, build_index
from nodes.index.index_dir import read_metadata
from tests.nodes.helpers import counts_by_label, lookup, read_raw
from tests.vcf_factory import GroupCounts, SiteRecord, truncate_file, write_sites_vcf

GOOD = SiteRecord("1", 100, "A", ["C"], GroupCounts(100, [5], [1]))


def _vcf(tmp_path: Path, bad_line: str, name: str = "bad.vcf") -> Path:
    vcf = write_sites_vcf(tmp_path / name, [GOOD], style="basic", chr_prefix=False)
    with vcf.open("a") as out:
        out.write(bad_line + "\n")
    return vcf


def _assert_nothing_left(tmp_path: Path) -> None:
    out = tmp_path / "index"
    assert not out.exists()
    assert not out.is_symlink()
    versions = tmp_path / ".index.versions"
    assert not versions.exists() or list(versions.iterdir()) == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (
            "1\t200\t.\tA\tC,G\t.\tPASS\tAC=1;AN=10;nhomalt=0,0",
            "AC has 1 value but ALT has 2 alleles",
        ),
        ("1\t200\t.\tA\tC\t.\tPASS\tAC=12;AN=10;nhomalt=0", "AC 12 > AN 10"),
        ("1\t200\t.\tA\tC\t.\tPASS\tAC=1;nhomalt=0", "AN is missing"),
        ("1\t200\t.\tA\tC\t.\tPASS\tAC=4;AN=10;nhomalt=3", "exceed AC 4"),
        ("chrUn_KI270302v1\t200\t.\tA\tC\t.\tPASS\tAC=1;AN=10", "is not a chromosome of GRCh38"),
        ("1\t200\t.\tA\tCQ\t.\tPASS\tAC=1;AN=10", "only the bases A, C, G, T and N"),
        ("1\t248956422\t.\tAC\tA\t.\tPASS\tAC=1;AN=10", "beyond the end of chromosome 1"),
    ],
)
def test_bad_record_names_file_record_and_problem(tmp_path, line, problem):
    vcf = _vcf(tmp_path, line)
    with pytest.raises(IndexBuildError) as info:
        build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=tmp_path / "index"))
    message = str(info.value)
    assert str(vcf) in message
    chrom, pos = line.split("\t")[:2]
    assert f"{chrom}:{pos}" in message
    assert problem in message
    _assert_nothing_left(tmp_path)


def test_on_error_skip_counts_bad_records(tmp_path):
    vcf = write_sites_vcf(tmp_path / "s.vcf", [GOOD], style="basic", chr_prefix=False)
    with vcf.open("a") as out:
        out.write("1\t200\t.\tA\tC,G\t.\tPASS\tAC=1;AN=10;nhomalt=0,0\n")
        out.write("1\t300\t.\tA\tC\t.\tPASS\tAC=12;AN=10;nhomalt=0\n")
        out.write("1\t400\t.\tA\tC\t.\tPASS\tAC=2;AN=10;nhomalt=0\n")
        out.write("1\t400\t.\tA\tC\t.\tPASS\tAC=3;AN=10;nhomalt=0\n")  # duplicate: first wins
        out.write("1\t500\t.\tA\t<DUP>\t.\tPASS\tAC=3;AN=10;nhomalt=0\n")
    out_dir = tmp_path / "index"
    report = build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=out_dir, on_error="skip"))
    assert report.skipped == {"invalid": 2, "symbolic": 1, "duplicate": 1}
    assert read_metadata(out_dir).skipped == report.skipped
    assert counts_by_label(lookup(out_dir, "1", 400, "A", "C"))[""] == (2, 10, 0, 2, None)
    assert len(read_raw(out_dir)) == 2


def test_duplicate_after_normalization_names_both_records(tmp_path):
    vcf = write_sites_vcf(tmp_path / "d.vcf", [GOOD], style="basic", chr_prefix=False)
    with vcf.open("a") as out:
        out.write("1\t200\t.\tAT\tT\t.\tPASS\tAC=1;AN=10;nhomalt=0\n")  # trims to 200 A>... no
        out.write("1\t300\t.\tCA\tTA\t.\tPASS\tAC=1;AN=10;nhomalt=0\n")  # trims to 1:300 C>T
        out.write("1\t300\t.\tC\tT\t.\tPASS\tAC=2;AN=10;nhomalt=0\n")
    with pytest.raises(IndexBuildError) as info:
        build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=tmp_path / "index"))
    message = str(info.value)
    assert f"{vcf} 1:300 and {vcf} 1:300" in message
    assert "1-300-C-T" in message
    _assert_nothing_left(tmp_path)


def test_duplicate_across_files(tmp_path):
    a = write_sites_vcf(tmp_path / "a.vcf", [GOOD], style="basic", chr_prefix=False)
    b = write_sites_vcf(tmp_path / "b.vcf", [GOOD], style="basic", chr_prefix=False)
    with pytest.raises(IndexBuildError, match=r"1:100 both normalize to 1-100-A-C"):
        build_index(BuildOptions(inputs=[a, b], dataset_id="ds", out=tmp_path / "index"))
    _assert_nothing_left(tmp_path)


def _big_bgzipped(tmp_path: Path) -> Path:
    recs = [
        SiteRecord("1", 1000 + 7 * i, "A", ["C"], GroupCounts(100, [5], [1])) for i in range(20000)
    ]
    return write_sites_vcf(tmp_path / "t.vcf", recs, style="basic", bgzip=True)


def test_truncated_gzip(tmp_path):
    vcf = truncate_file(_big_bgzipped(tmp_path), 0.5)
    with pytest.raises(IndexBuildError) as info:
        build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=tmp_path / "index"))
    assert str(vcf) in str(info.value)
    assert "truncated" in str(info.value)
    _assert_nothing_left(tmp_path)


def test_corrupt_block_in_the_middle(tmp_path):
    vcf = _big_bgzipped(tmp_path)
    data = bytearray(vcf.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)  # EOF marker intact: fails while reading
    vcf.write_bytes(bytes(data))
    with pytest.raises(IndexBuildError) as info:
        build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=tmp_path / "index"))
    message = str(info.value)
    assert str(vcf) in message
    assert "truncated or corrupt" in message
    assert "after chr1:" in message  # the last good record
    _assert_nothing_left(tmp_path)


def test_not_a_vcf(tmp_path):
    junk = tmp_path / "junk.vcf"
    junk.write_text("hello\n")
    with pytest.raises(IndexBuildError, match="cannot be read as VCF/BCF"):
        build_index(BuildOptions(inputs=[junk], dataset_id="ds", out=tmp_path / "index"))
    _assert_nothing_left(tmp_path)


def test_no_counts_and_no_genotypes(tmp_path):
    vcf = tmp_path / "n.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n1\t5\t.\tA\tC\t.\t.\t.\n"
    )
    with pytest.raises(IndexBuildError, match="no allele counts"):
        build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=tmp_path / "index"))


def test_info_map_naming_missing_key(tmp_path):
    vcf = write_sites_vcf(tmp_path / "m.vcf", [GOOD], style="basic")
    info_map = tmp_path / "map.toml"
    info_map.write_text('[total]\nac = "AC"\nan = "AN_nope"\n')
    with pytest.raises(IndexBuildError, match="AN_nope"):
        build_index(
            BuildOptions(inputs=[vcf], dataset_id="ds", out=tmp_path / "index", info_map=info_map)
        )
    info_map.write_text('[total]\nac = "AC"\n')
    with pytest.raises(IndexBuildError, match="ac and an are required"):
        build_index(
            BuildOptions(inputs=[vcf], dataset_id="ds", out=tmp_path / "index", info_map=info_map)
        )


def test_bad_options(tmp_path):
    vcf = write_sites_vcf(tmp_path / "m.vcf", [GOOD], style="basic")
    with pytest.raises(IndexBuildError, match="no such file"):
        build_index(BuildOptions(inputs=[tmp_path / "x.vcf"], dataset_id="ds", out=tmp_path / "i"))
    with pytest.raises(IndexBuildError, match="--jobs"):
        build_index(BuildOptions(inputs=[vcf], dataset_id="ds", out=tmp_path / "i", jobs=0))
