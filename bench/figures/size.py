"""Figure: the index on disk against the bgzipped VCF it was built from.

Two inputs: the bench's gnomAD-like file (27 groups: the total, XX/XY, 8 populations
and their sexes; AC, AN, nhomalt) and a GDI-format country file (9 groups: the total,
``F``/``M``, two countries and their sexes; AC, AN, AF, AC_Het/_Hom/_Hemi). Both are
written by ``bench.data`` at BGZF level 1; each is also recompressed at bgzip's default
level 6 (how distributed files are compressed), the harder baseline. Index size: the
blocks of the version directory (``data.mdb``, ``ids.mdb``, ``dataset.json``).

What each part of the schema-3 encoding buys is measured on the stored values of a
sample: the same record as schema 2 stored it (the served protobuf bytes plus a 20-byte
header, i.e. every label and field tag repeated in every value) against the compact
value (group codes, counts at their widths, variant and filters).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import lmdb

from bench.data import GDI_COUNTRIES, BgzfWriter, Dataset, DataSpec, ensure_dataset
from bench.report import Figure, Row
from bench.workspace import Workspace
from nodes.serve.store import DatasetIndex

TITLE = "Index size vs the bgzipped VCF"
TARGET_RATIO = 1.0
SAMPLE_VALUES = 20_000


def gdi_dataset(ws: Workspace) -> Dataset:
    """The GDI-format file (about a fifth of the main file's alleles)."""
    spec = DataSpec("gdi", max(5_000, ws.settings.alleles // 5), sample_size=1_000,
                    populations=GDI_COUNTRIES, convention="gdi")  # fmt: skip
    return ensure_dataset(ws.work, spec)


def _level6(vcf: Path) -> int:
    """Bytes of ``vcf`` recompressed as BGZF at zlib level 6 (cached beside it)."""
    out = vcf.with_name("sites.level6.vcf.gz")
    if not out.exists():
        tmp = out.with_name(out.name + f".tmp-{os.getpid()}")
        writer = BgzfWriter(tmp, level=6)
        with gzip.open(vcf, "rb") as text:
            while chunk := text.read(8 << 20):
                writer.write(chunk)
        writer.close()  # ends the stream with htslib's EOF block
        tmp.rename(out)
    return out.stat().st_size


def _index_bytes(path: Path) -> int:
    version = Path(os.path.realpath(path))
    return sum(p.stat().st_blocks * 512 for p in version.iterdir() if p.is_file())


def _breakdown(path: Path) -> dict[str, float]:
    """Mean bytes per value of a sample: compact, its parts, and schema 2's equivalent."""
    index = DatasetIndex(path)
    try:
        codes = 2 * len(index.codec.groups)
        compact = protobuf = keys = tail = n = an_growth = 0
        with index.env.begin() as txn:
            for key, value in txn.cursor():
                stored, _ = index.codec.frequency(value)
                compact += len(value)
                protobuf += len(stored) + 20  # schema 2: header + the served bytes
                keys += len(key)
                tail += len(value) - codes - _counts_bytes(value, codes)  # variant, filters
                an_growth += _an_growth(value, codes)
                n += 1
                if n == SAMPLE_VALUES:
                    break
        stat = index.env.stat()
    finally:
        index.close()
    return {
        "n": n,
        "compact": compact / n,
        "protobuf": protobuf / n,
        "key": keys / n,
        "codes": codes,
        "tail": tail / n,
        "counts": compact / n - codes - tail / n,
        "depth": stat["depth"],
        "an_growth": an_growth / n,
    }


_WIDTHS = (0, 1, 2, 4)


def _counts_bytes(value: bytes, codes: int) -> int:
    size = 0
    for g in range(0, codes, 2):
        code = value[g] | value[g + 1] << 8
        if code & 1 << 11:
            size += sum(_WIDTHS[code >> (2 * k) & 3] for k in range(5))
            size += 8 if code & 1 << 10 else 0
    return size


def _an_growth(value: bytes, codes: int) -> int:
    """Bytes the value's AN counts would grow by at 4 bytes each (AN over 65,535)."""
    grow = 0
    for g in range(0, codes, 2):
        width = (value[g] >> 2) & 3
        if width:
            grow += 4 - _WIDTHS[width]
    return grow


def _rows(
    name: str, data: Dataset, index: Path, variants: int
) -> tuple[list[Row], dict[str, float]]:
    size = _index_bytes(index)
    level6 = _level6(data.vcf)
    parts = _breakdown(index)
    per_variant = size / variants
    rows = [
        Row(f"{name}: index size", size / 1e6, "MB", baseline=data.bytes / 1e6,
            baseline_label="bgzipped VCF, level 1", ratio=size / data.bytes,
            ratio_label="of the VCF", target=f"≤ {TARGET_RATIO:.1f}x the bgzipped VCF",
            met=size / data.bytes <= TARGET_RATIO, target_is_ratio=True,
            note=f"{per_variant:.0f} bytes per variant ({variants:,} variants, "
                 f"B-tree depth {parts['depth']})"),
        Row(f"{name}: index vs bgzip level 6", size / 1e6, "MB", baseline=level6 / 1e6,
            baseline_label="bgzipped VCF, level 6", ratio=size / level6,
            ratio_label="of the VCF", note="the same file at bgzip's default level"),
        Row(f"{name}: schema 2 value (labels and tags in every value)", parts["protobuf"],
            "B/value", note="the served protobuf bytes + 20-byte header, as stored before"),
        Row(f"{name}: schema 3 value", parts["compact"], "B/value",
            baseline=parts["protobuf"], baseline_label="schema 2",
            ratio=parts["protobuf"] / parts["compact"], ratio_label="smaller",
            note=f"group codes {parts['codes']:.0f} B, counts {parts['counts']:.0f} B, "
                 f"variant + filters {parts['tail']:.0f} B; key {parts['key']:.0f} B; "
                 f"LMDB pages and node headers: {per_variant - parts['compact'] - parts['key']:.0f}"
                 " B per variant"),
    ]  # fmt: skip
    extra = {
        f"{name}_index_bytes": size,
        f"{name}_vcf_bytes": data.bytes,
        f"{name}_level6_bytes": level6,
        f"{name}_variants": variants,
        f"{name}_value_bytes": parts["compact"],
        f"{name}_an_growth": parts["an_growth"],
    }
    return rows, extra


def _variants(path: Path) -> int:
    env = lmdb.open(str(path), readonly=True, lock=False, subdir=True)
    try:
        return int(env.stat()["entries"])
    finally:
        env.close()


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """Size both indexes against their VCFs."""
    data = ws.dataset()
    main_index = ws.index()
    gdi = gdi_dataset(ws)
    gdi_index = ws.index_of(gdi, "bench-gdi")
    figure = Figure("size", TITLE)
    figure.setup = (
        f"The gnomAD-like file ({data.records:,} records, {data.alleles:,} alleles, "
        f"{data.bytes / 1e6:.0f} MB) and a GDI-format file ({gdi.records:,} records, "
        f"{gdi.bytes / 1e6:.1f} MB), each built with `index build --jobs 2`. "
        + (__doc__ or "").split("\n\n", 1)[1].replace("\n", " ")
    )
    rows, extra = _rows("gnomAD-like", data, main_index, _variants(main_index))
    gdi_rows, gdi_extra = _rows("GDI-format", gdi, gdi_index, _variants(gdi_index))
    figure.rows = rows + gdi_rows
    figure.extra = {**extra, **gdi_extra}
    return figure
