"""Seeded, streaming generator of a gnomAD-v4-like sites VCF (bgzipped and tabix-indexed).

The file looks like a gnomAD v4 genomes sites file to the index builder: ``chr``-prefixed
contigs 1-22, X, Y and M with GRCh38 lengths, records sorted by position, per-allele
``AC``/``AN``/``nhomalt`` for the total, for ``XX``/``XY`` and for every population and
population x sex (``AC_afr_XX`` ...), ``AF``, filters, multi-allelic sites (about 12 % of
records) and indels (about 15 % of alleles). Counts are internally consistent (a
population is the sum of its ``XX`` and ``XY`` parts, ``nhomalt <= AC / 2``), so the
builder accepts every record, including hemizygous regions of X and Y.

Speed: INFO strings are drawn from a seeded pool of count profiles per number of ALT
alleles (rare variants dominate real data, so profiles repeat there too), and text is
written straight into a BGZF stream in large chunks: about a million alleles in well
under a minute. The same seed always gives the same bytes.

A reservoir sample of alleles (the record's own ``chrom``/``pos``/``REF``/one ``ALT``) is
written beside the file for the lookup figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import struct
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pysam

from mesh.model.genome import Assembly, contig_length

#: gnomAD v4 genetic-ancestry groups written per record (a subset keeps files small).
POPULATIONS: tuple[str, ...] = ("afr", "amr", "asj", "eas", "fin", "mid", "nfe", "sas")
#: Countries of the GDI-format file (each with ``_F``/``_M``, and ``F``/``M`` overall).
GDI_COUNTRIES: tuple[str, ...] = ("FI", "SE")
#: Contigs in file order (GRCh38, gnomAD spelling).
CONTIGS: tuple[str, ...] = (*(str(i) for i in range(1, 23)), "X", "Y", "MT")
_BASES = "ACGT"
_OTHER = {b: [o for o in _BASES if o != b] for b in _BASES}
_FILTERS = ("PASS",) * 90 + ("AS_VQSR",) * 7 + ("AC0",) * 3
#: Samples per population and sex; AN is about twice this (gnomAD v4 genomes: ~76k).
_SAMPLES = {
    "afr": 20_000,
    "amr": 7_600,
    "asj": 1_700,
    "eas": 2_600,
    "fin": 5_300,
    "mid": 150,
    "nfe": 34_000,
    "sas": 2_400,
    "FI": 9_000,
    "SE": 14_000,
}
_GENERATOR_VERSION = 3


@dataclass(frozen=True)
class DataSpec:
    """What to generate; two equal specs give byte-identical files."""

    name: str
    alleles: int
    seed: int = 20_240_601
    sample_size: int = 20_000
    populations: tuple[str, ...] = POPULATIONS
    #: Distinct INFO count profiles for single-ALT records (a quarter of it for 2 and 3).
    profiles: int = 4096
    version: int = _GENERATOR_VERSION
    #: ``gnomad`` (``AC_afr_XX`` ...) or ``gdi`` (a GDI country file: ``AC_FI_M``,
    #: ``AC_FI_M_Het``/``_Hom``/``_Hemi``, ``AF_FI_M``; ``populations`` are countries).
    convention: str = "gnomad"

    def digest(self) -> str:
        """A short hash naming the generated files."""
        fields = asdict(self)
        if self.convention == "gnomad":
            del fields["convention"]  # the names of files generated before it existed
        text = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class SampledAllele:
    """One allele as written in the file: record position, REF and one ALT."""

    chrom: str
    pos: int
    ref: str
    alt: str


@dataclass
class Dataset:
    """A generated file and what is known about it."""

    spec: DataSpec
    vcf: Path
    records: int
    alleles: int
    contigs: int
    bytes: int
    seconds: float
    sample_path: Path
    _sample: list[SampledAllele] = field(default_factory=list, repr=False)

    @property
    def sample(self) -> list[SampledAllele]:
        """The sampled alleles (loaded once)."""
        if not self._sample:
            with self.sample_path.open(encoding="utf-8") as handle:
                for line in handle:
                    chrom, pos, ref, alt = line.rstrip("\n").split("\t")
                    self._sample.append(SampledAllele(chrom, int(pos), ref, alt))
        return self._sample


# --------------------------------------------------------------------------- counts


def _allele_count(rng: random.Random, an: int) -> int:
    """An allele count with a rare-variant-heavy spectrum."""
    u = rng.random()
    if u < 0.55:
        ac = rng.randrange(0, 3)
    elif u < 0.85:
        ac = rng.randrange(0, 60)
    elif u < 0.96:
        ac = int(an * rng.random() * 0.05)
    else:
        ac = int(an * rng.random() * 0.6)
    return min(ac, an)


def _profile(
    rng: random.Random, populations: Sequence[str], n_alt: int, convention: str = "gnomad"
) -> str:
    """One INFO string: consistent counts for ``n_alt`` alleles in every group."""
    # groups[(pop, sex)] = (an, [ac per allele], [hom per allele])
    cells: dict[tuple[str, str], tuple[int, list[int], list[int]]] = {}
    sexes = ("F", "M") if convention == "gdi" else ("XX", "XY")
    for pop in populations:
        for sex in sexes:
            an = int(2 * _SAMPLES.get(pop, 1000) * (0.5 + 0.5 * rng.random()) / 2)
            an = max(2, an)
            room = an
            acs, homs = [], []
            for _ in range(n_alt):
                ac = min(_allele_count(rng, an), room)
                room -= ac
                hom = int(ac * rng.random() * rng.random() / 2) if ac > 1 else 0
                acs.append(ac)
                homs.append(hom)
            cells[(pop, sex)] = (an, acs, homs)

    def summed(keys: Sequence[tuple[str, str]]) -> tuple[int, list[int], list[int]]:
        an = sum(cells[k][0] for k in keys)
        acs = [sum(cells[k][1][a] for k in keys) for a in range(n_alt)]
        homs = [sum(cells[k][2][a] for k in keys) for a in range(n_alt)]
        return an, acs, homs

    def fields(suffix: str, group: tuple[int, list[int], list[int]]) -> str:
        an, acs, homs = group
        ac_text = ",".join(map(str, acs))
        hom_text = ",".join(map(str, homs))
        return f"AC{suffix}={ac_text};AN{suffix}={an};nhomalt{suffix}={hom_text}"

    every = list(cells)
    total = summed(every)
    if convention == "gdi":
        return _gdi_fields(cells, summed, populations)
    af = ",".join(f"{ac / total[0]:.5g}" for ac in total[1])
    parts = [fields("", total), f"AF={af}"]
    for sex in ("XX", "XY"):
        parts.append(fields(f"_{sex}", summed([k for k in every if k[1] == sex])))
    for pop in populations:
        parts.append(fields(f"_{pop}", summed([(pop, "XX"), (pop, "XY")])))
        for sex in ("XX", "XY"):
            parts.append(fields(f"_{pop}_{sex}", cells[(pop, sex)]))
    return ";".join(parts)


Cells = dict[tuple[str, str], tuple[int, list[int], list[int]]]


def _gdi_fields(cells: Cells, summed: Any, countries: Sequence[str]) -> str:
    """A GDI country file's INFO: AC, AN, AF, AC_Het/_Hom/_Hemi per label (hemi 0)."""

    def fields(label: str, group: tuple[int, list[int], list[int]]) -> str:
        an, acs, homs = group
        s = f"_{label}" if label else ""
        af = ",".join(f"{ac / an:.5g}" for ac in acs)
        het = ",".join(str(ac - 2 * hom) for ac, hom in zip(acs, homs, strict=True))
        hom = ",".join(map(str, homs))
        zeros = ",".join("0" for _ in acs)
        ac_text = ",".join(map(str, acs))
        return (
            f"AC{s}={ac_text};AN{s}={an};AF{s}={af};"
            f"AC{s}_Het={het};AC{s}_Hom={hom};AC{s}_Hemi={zeros}"
        )

    every = list(cells)
    parts = [fields("", summed(every))]
    for sex in ("F", "M"):
        parts.append(fields(sex, summed([k for k in every if k[1] == sex])))
    for country in countries:
        parts.append(fields(country, summed([(country, "F"), (country, "M")])))
        for sex in ("F", "M"):
            parts.append(fields(f"{country}_{sex}", cells[(country, sex)]))
    return ";".join(parts)


def gdi_labels(countries: Sequence[str]) -> list[str]:
    """The GDI labels of the generated file (the total is ``""``)."""
    labels = ["", "F", "M"]
    for country in countries:
        labels += [country, f"{country}_F", f"{country}_M"]
    return labels


def header_lines(populations: Sequence[str], convention: str = "gnomad") -> list[str]:
    """The VCF header (contigs with GRCh38 lengths, one INFO line per count key)."""
    lines = [
        "##fileformat=VCFv4.2",
        "##source=allelemesh-bench (synthetic, gnomAD v4 genomes layout)",
        "##reference=GRCh38",
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=AS_VQSR,Description="Failed VQSR filtering thresholds">',
        '##FILTER=<ID=AC0,Description="No sample had a high quality non-reference genotype">',
    ]
    for contig in CONTIGS:
        name = "chrM" if contig == "MT" else f"chr{contig}"
        length = contig_length(contig, Assembly.GRCH38)
        lines.append(f"##contig=<ID={name},length={length}>")
    if convention == "gdi":
        lines[1] = "##source=allelemesh-bench (synthetic, GDI country file layout)"
        for label in gdi_labels(populations):
            s = f"_{label}" if label else ""
            for key, number, kind in (("AC", "A", "Integer"), ("AN", "1", "Integer"),
                                      ("AF", "A", "Float")):  # fmt: skip
                lines.append(f'##INFO=<ID={key}{s},Number={number},Type={kind},Description="x">')
            for what in ("Het", "Hom", "Hemi"):
                lines.append(f'##INFO=<ID=AC{s}_{what},Number=A,Type=Integer,Description="x">')
        lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
        return lines
    suffixes = ["", "_XX", "_XY"]
    for pop in populations:
        suffixes += [f"_{pop}", f"_{pop}_XX", f"_{pop}_XY"]
    for suffix in suffixes:
        group = suffix[1:] or "all samples"
        lines.append(
            f'##INFO=<ID=AC{suffix},Number=A,Type=Integer,Description="Alternate allele count '
            f'for samples ({group})">'
        )
        lines.append(
            f'##INFO=<ID=AN{suffix},Number=1,Type=Integer,Description="Total number of alleles '
            f'in samples ({group})">'
        )
        lines.append(
            f'##INFO=<ID=nhomalt{suffix},Number=A,Type=Integer,Description="Count of '
            f'homozygous individuals ({group})">'
        )
        if suffix == "":
            lines.append('##INFO=<ID=AF,Number=A,Type=Float,Description="Alternate allele freq">')
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    return lines


# --------------------------------------------------------------------------- records


def _random_bases(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_BASES) for _ in range(n))


def _indel_length(rng: random.Random) -> int:
    n = 1
    while n < 20 and rng.random() < 0.45:
        n += 1
    return n


def _alleles(rng: random.Random, n_alt: int) -> tuple[str, list[str]]:
    """REF and ALTs of one record; every ALT normalizes to a key at the record's POS."""
    anchor = rng.choice(_BASES)
    kinds = ["snv" if (u := rng.random()) < 0.85 else "del" if u < 0.93 else "ins"]
    kinds += ["snv" if rng.random() < 0.7 else "ins" for _ in range(n_alt - 1)]
    tail = _random_bases(rng, _indel_length(rng)) if "del" in kinds else ""
    ref = anchor + tail
    alts: list[str] = []
    others = _OTHER[anchor][:]
    rng.shuffle(others)
    for kind in kinds:
        if kind == "del":
            alt = anchor
        elif kind == "ins":
            alt = anchor + _random_bases(rng, _indel_length(rng)) + tail
        else:
            if not others:
                continue
            alt = others.pop() + tail
        if alt not in alts and alt != ref:
            alts.append(alt)
    return ref, alts


def _arity(rng: random.Random) -> int:
    u = rng.random()
    return 1 if u < 0.88 else 2 if u < 0.97 else 3


def _records(spec: DataSpec) -> Iterator[tuple[str, int, str, list[str], str]]:
    """Yield ``(chrom, pos, ref, alts, info)`` in file order."""
    rng = random.Random(spec.seed)
    pool_rng = random.Random(spec.seed + 1)
    pools = {
        n: [
            _profile(pool_rng, spec.populations, n, spec.convention)
            for _ in range(spec.profiles if n == 1 else max(1, spec.profiles // 4))
        ]
        for n in (1, 2, 3)
    }
    lengths = {c: contig_length(c, Assembly.GRCH38) for c in CONTIGS}
    genome = sum(lengths.values())
    mean_alleles = 1.15
    for contig in CONTIGS:
        quota = max(50, round(spec.alleles * lengths[contig] / genome))
        records_expected = max(1, int(quota / mean_alleles))
        mean_gap = max(2, int(lengths[contig] * 0.9 / records_expected))
        name = "chrM" if contig == "MT" else f"chr{contig}"
        pos = 1 + rng.randrange(mean_gap)
        written = 0
        while written < quota:
            n_alt = _arity(rng)
            ref, alts = _alleles(rng, n_alt)
            if pos + len(ref) >= lengths[contig]:
                break
            pool = pools[len(alts)]
            yield name, pos, ref, alts, pool[rng.randrange(len(pool))]
            written += len(alts)
            pos += len(ref) + rng.randrange(2 * mean_gap)


# --------------------------------------------------------------------------- files

_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_BLOCK = 65_280  # uncompressed bytes per BGZF block (htslib's choice)


class BgzfWriter:
    """A minimal BGZF writer using zlib level 1: ~4x faster than htslib's default level.

    BGZF is a series of gzip members of at most 64 KiB, each with a ``BC`` extra field
    holding its size; readers (htslib, tabix) need nothing else.
    """

    def __init__(self, path: Path, level: int = 1) -> None:
        self._handle = path.open("wb")
        self._level = level
        self._pending = bytearray()

    def write(self, data: bytes) -> None:
        """Append bytes; full blocks are compressed and written at once."""
        self._pending += data
        if len(self._pending) >= _BLOCK:
            view = memoryview(self._pending)
            full = len(view) - len(view) % _BLOCK
            for start in range(0, full, _BLOCK):
                self._block(bytes(view[start : start + _BLOCK]))
            view.release()
            del self._pending[:full]

    def _block(self, data: bytes) -> None:
        compressor = zlib.compressobj(self._level, zlib.DEFLATED, -15)
        body = compressor.compress(data) + compressor.flush()
        header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
        self._handle.write(header + struct.pack("<H", len(body) + 25))
        self._handle.write(body)
        self._handle.write(struct.pack("<II", zlib.crc32(data), len(data)))

    def close(self) -> None:
        """Flush the last block and write the BGZF end-of-file marker."""
        if self._pending:
            self._block(bytes(self._pending))
            self._pending.clear()
        self._handle.write(_BGZF_EOF)
        self._handle.close()


def _write(spec: DataSpec, directory: Path) -> dict[str, int]:
    """Write ``sites.vcf.gz`` (+ ``.tbi``) and ``sample.tsv`` into ``directory``."""
    vcf_path = directory / "sites.vcf.gz"
    sample_rng = random.Random(spec.seed + 2)
    sample: list[str] = []
    records = alleles = 0
    contigs: set[str] = set()
    chunk: list[str] = ["\n".join(header_lines(spec.populations, spec.convention)) + "\n"]
    size = 0
    handle = BgzfWriter(vcf_path)
    try:
        for chrom, pos, ref, alts, info in _records(spec):
            flt = _FILTERS[(pos * 7 + len(alts)) % len(_FILTERS)]
            line = f"{chrom}\t{pos}\t.\t{ref}\t{','.join(alts)}\t.\t{flt}\t{info}\n"
            chunk.append(line)
            size += len(line)
            records += 1
            contigs.add(chrom)
            for alt in alts:
                alleles += 1
                # Reservoir sampling (algorithm R): a uniform sample of every allele.
                if len(sample) < spec.sample_size:
                    sample.append(f"{chrom}\t{pos}\t{ref}\t{alt}")
                else:
                    j = sample_rng.randrange(alleles)
                    if j < spec.sample_size:
                        sample[j] = f"{chrom}\t{pos}\t{ref}\t{alt}"
            if size > 8 << 20:
                handle.write("".join(chunk).encode("ascii"))
                chunk, size = [], 0
        handle.write("".join(chunk).encode("ascii"))
    finally:
        handle.close()
    pysam.tabix_index(str(vcf_path), preset="vcf", force=True)
    sample_rng.shuffle(sample)
    (directory / "sample.tsv").write_text("\n".join(sample) + "\n", encoding="utf-8")
    return {"records": records, "alleles": alleles, "contigs": len(contigs)}


def ensure_dataset(work: Path, spec: DataSpec) -> Dataset:
    """Return the dataset for ``spec``, generating it under ``work/data`` unless cached."""
    import time

    directory = work / "data" / f"{spec.name}-{spec.digest()}"
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        tmp = directory.with_name(directory.name + f".tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        started = time.perf_counter()
        counts = _write(spec, tmp)
        counts["seconds"] = round(time.perf_counter() - started, 3)
        (tmp / "manifest.json").write_text(
            json.dumps({"spec": asdict(spec), **counts}, indent=2), encoding="utf-8"
        )
        shutil.rmtree(directory, ignore_errors=True)
        tmp.rename(directory)
    data = json.loads(manifest.read_text(encoding="utf-8"))
    vcf = directory / "sites.vcf.gz"
    return Dataset(
        spec=spec,
        vcf=vcf,
        records=data["records"],
        alleles=data["alleles"],
        contigs=data["contigs"],
        bytes=vcf.stat().st_size,
        seconds=data["seconds"],
        sample_path=directory / "sample.tsv",
    )
