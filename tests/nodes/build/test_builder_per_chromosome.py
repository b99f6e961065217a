"""One dataset from per-chromosome files (as ``hail export`` writes them), and the
``##allelemesh_groups`` convention those files declare.

The files are written here by hand in the exporter's documented format, so these tests
run without Hail; tests/hail checks the exporter itself against the genotype path.
"""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest

from mesh.errors import IndexBuildError
from mesh.model.genome import Assembly
from nodes.build.builder import BuildOptions, build_index
from nodes.index.index_dir import read_metadata
from tests.nodes.helpers import counts_by_label, lookup, read_raw

#: (chrom, pos, ref, alts, {label: (AC per alt, AN, hom per alt, het per alt, hemi per alt)})
Site = tuple[
    str, int, str, list[str], dict[str, tuple[list[int], int, list[int], list[int], list[int]]]
]
LABELS = ("NO", "NO_F", "NO_M")
SITES: list[Site] = [
    ("1", 1000, "A", ["G"], {"": ([3], 10, [1], [1], [0]), "NO": ([3], 10, [1], [1], [0]),
                              "NO_F": ([2], 6, [1], [0], [0]), "NO_M": ([1], 4, [0], [1], [0])}),
    ("1", 2000, "C", ["T", "CA"], {"": ([1, 2], 10, [0, 1], [1, 0], [0, 0]),
                                    "NO": ([1, 2], 10, [0, 1], [1, 0], [0, 0]),
                                    "NO_F": ([1, 0], 6, [0, 0], [1, 0], [0, 0]),
                                    "NO_M": ([0, 2], 4, [0, 1], [0, 0], [0, 0])}),
    ("2", 500, "G", ["A"], {"": ([0], 10, [0], [0], [0]), "NO": ([0], 10, [0], [0], [0]),
                             "NO_F": ([0], 6, [0], [0], [0]), "NO_M": ([0], 4, [0], [0], [0])}),
    ("X", 5_000_000, "T", ["C"], {"": ([4], 8, [1], [1], [1]), "NO": ([4], 8, [1], [1], [1]),
                                   "NO_F": ([3], 6, [1], [1], [0]),
                                   "NO_M": ([1], 2, [0], [0], [1])}),
]  # fmt: skip
FIELDS = ("AC", "AN", "nhomalt", "nhet", "nhemi")


def write_exported(path: Path, sites: list[Site], *, groups: str = ",".join(LABELS)) -> Path:
    """A sites VCF in ``hail export``'s format (bgzipped, tabix-indexed)."""
    lines = ["##fileformat=VCFv4.2", f"##allelemesh_groups={groups}"]
    lines += [f"##contig=<ID=chr{c},length={n}>" for c, n in
              (("1", 248956422), ("2", 242193529), ("X", 156040895))]  # fmt: skip
    for label in ("", *LABELS):
        for prefix in FIELDS:
            key = f"{prefix}_{label}" if label else prefix
            number = "1" if prefix == "AN" else "A"
            lines.append(f'##INFO=<ID={key},Number={number},Type=Integer,Description="x">')
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for chrom, pos, ref, alts, groups_counts in sites:
        info = []
        for label, (ac, an, hom, het, hemi) in groups_counts.items():
            for prefix, value in zip(FIELDS, (ac, an, hom, het, hemi), strict=True):
                key = f"{prefix}_{label}" if label else prefix
                text = str(value) if isinstance(value, int) else ",".join(map(str, value))
                info.append(f"{key}={text}")
        lines.append(f"chr{chrom}\t{pos}\t.\t{ref}\t{','.join(alts)}\t.\tPASS\t{';'.join(info)}")
    path.write_text("\n".join(lines) + "\n")
    return Path(pysam.tabix_index(str(path), preset="vcf", force=True))


def build(tmp_path: Path, name: str, inputs: list[Path], jobs: int = 1) -> Path:
    out = tmp_path / name
    build_index(BuildOptions(inputs=inputs, dataset_id="d", out=out, assembly=Assembly.GRCH38,
                             progress=False, jobs=jobs))  # fmt: skip
    return out


def test_declared_groups_are_read_exactly(tmp_path: Path) -> None:
    index = build(tmp_path, "idx", [write_exported(tmp_path / "all.vcf", SITES)])
    assert read_metadata(index).info_convention == "allelemesh"
    for chrom, pos, ref, alts, groups_counts in SITES:
        for a, alt in enumerate(alts):
            stored = counts_by_label(lookup(index, chrom, pos, ref, alt))
            expected = {
                label: (ac[a], an, hom[a], het[a], hemi[a])
                for label, (ac, an, hom, het, hemi) in groups_counts.items()
            }
            assert stored == expected, (chrom, pos, alt)


def test_per_chromosome_files_in_parallel_equal_one_file(tmp_path: Path) -> None:
    one = build(tmp_path, "one", [write_exported(tmp_path / "all.vcf", SITES)])
    parts = [
        write_exported(tmp_path / f"{c}.vcf", [s for s in SITES if s[0] == c])
        for c in ("1", "2", "X")
    ]
    split = build(tmp_path, "split", parts, jobs=2)
    assert read_raw(split) == read_raw(one)


def test_a_chromosome_in_two_files_is_refused_naming_both(tmp_path: Path) -> None:
    first = write_exported(tmp_path / "a.vcf", SITES[:1])
    second = write_exported(tmp_path / "b.vcf", SITES[1:2])  # also chromosome 1
    with pytest.raises(
        IndexBuildError, match=r"chromosome 1 is in both .*a\.vcf\.gz and .*b\.vcf\.gz"
    ):
        build(tmp_path, "idx", [first, second], jobs=2)


def test_a_declared_group_without_its_keys_is_an_error(tmp_path: Path) -> None:
    path = write_exported(tmp_path / "bad.vcf", SITES, groups="NO,NO_F,NO_M,FI")
    with pytest.raises(IndexBuildError, match=r"INFO AC_FI \(group FI\) not in the header"):
        build(tmp_path, "idx", [path])
