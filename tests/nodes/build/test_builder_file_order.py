"""Per-chromosome files of one dataset: read in key order, one INFO cache per header.

A Hail export's files sort by name as ``chr1, chr10, chr2``; read in that order, every
file after a higher chromosome makes LMDB writes random puts. Files of one header share
the INFO cache (per file, 25 cold caches cost a per-chromosome build 1.4 GB and 2.5x the
CPU of one file); what a shared cache serves must be what a fresh reader computes.
"""

from __future__ import annotations

from pathlib import Path

from mesh.model.genome import Assembly
from nodes.build._parallel import key_order
from nodes.build._reader import Stats, Task
from nodes.build.builder import BuildOptions, open_readers, reader_config
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf

POPULATIONS = ["AFR", "NFE"]


def _site(chrom: str, pos: int, ac: int) -> SiteRecord:
    groups = {p: GroupCounts(an=200, ac=[ac], hom=[0]) for p in POPULATIONS}
    return SiteRecord(chrom, pos, "A", ["G"], GroupCounts(an=400, ac=[2 * ac], hom=[0]), groups)


def _file(tmp_path: Path, chrom: str, sites: list[SiteRecord], populations: list[str]) -> Path:
    path = tmp_path / f"chr{chrom}.vcf"
    # Hemizygous keys given: no plain case for the compiled packer (nodes.build._info_text
    # .InfoText.packer), so every record goes through the INFO cache.
    return write_sites_vcf(path, sites, populations, bgzip=True, contigs=[chrom], with_hemi=True)


def _readers(paths: list[Path]) -> list:
    options = BuildOptions(inputs=paths, dataset_id="d", out=paths[0].parent / "out")
    return open_readers(reader_config(options, fast_text=True), None)


def _items(reader, index: int) -> list[tuple[bytes, bytes]]:
    items: list[tuple[bytes, bytes]] = []
    reader.run(Task(index), lambda k, v, *_: items.append((k, v)), Stats(), lambda _n: None)
    return items


def test_per_chromosome_files_given_by_name_are_read_in_key_order(tmp_path: Path) -> None:
    names = ["1", "10", "2", "X"]  # as `ls` or sorted() lists chr1, chr10, chr2, chrX
    paths = [_file(tmp_path, c, [_site(c, 1000, 1)], POPULATIONS) for c in names]
    readers = _readers(paths)
    try:
        assert key_order(readers, Assembly.GRCH38) == [0, 2, 1, 3]  # 1, 2, 10, X
    finally:
        for reader in readers:
            reader.close()


def test_files_without_an_index_keep_the_order_given(tmp_path: Path) -> None:
    ten = _file(tmp_path, "10", [_site("10", 1000, 1)], POPULATIONS)
    two = _file(tmp_path, "2", [_site("2", 1000, 1)], POPULATIONS)
    Path(f"{two}.tbi").unlink()
    readers = _readers([ten, two])
    try:
        assert key_order(readers, Assembly.GRCH38) == [0, 1]
    finally:
        for reader in readers:
            reader.close()


def test_files_of_one_header_share_the_info_cache_and_it_serves_the_same_bytes(
    tmp_path: Path,
) -> None:
    # The same INFO texts on chromosomes 1 and 2: chr2's are hits in chr1's cache.
    one = _file(tmp_path, "1", [_site("1", 1000 + i, i % 5 + 1) for i in range(50)], POPULATIONS)
    two = _file(tmp_path, "2", [_site("2", 1000 + i, i % 5 + 1) for i in range(50)], POPULATIONS)
    other = _file(tmp_path, "3", [_site("3", 1000, 1)], ["AFR", "NFE", "EAS"])
    readers = _readers([one, two, other])
    fresh = _readers([two, other])  # the same dataset groups, its own cache
    try:
        assert readers[0]._cache is readers[1]._cache
        assert readers[2]._cache is not readers[0]._cache  # another header, other labels
        _items(readers[0], 0)
        hits = readers[1]._cache.hits
        shared = _items(readers[1], 1)
        assert readers[1]._cache.hits - hits == 50  # every chr2 text was counted for chr1
        assert shared == _items(fresh[0], 0)
        assert fresh[0]._cache.hits == 45  # its own: 5 texts counted, 45 repeats
    finally:
        for reader in readers + fresh:
            reader.close()
