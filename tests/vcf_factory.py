"""Write test VCF/BCF files from explicit Python records, and say what they should count.

Shared by the node, gateway and service tests. Every file is real (text, bgzipped
and tabix-indexed, or BCF), written from plain records, and the ``expected_*``
helpers compute counts from those same records without any allelemesh code, so a
test compares the index against an independent answer.

Sites files::

    rec = SiteRecord("1", 12345, "A", ["C", "T"],
                     total=GroupCounts(an=100, ac=[3, 1], hom=[1, 0]),
                     populations={"AFR": GroupCounts(an=40, ac=[2, 0], hom=[1, 0])})
    write_gnomad_sites_vcf(path, [rec], populations=["AFR"])   # bgzip + .tbi
    expected_site_counts(rec)  # [{"": (AC, AN, hom, het, hemi), "AFR": (...)}, ...] per ALT

Genotype files::

    samples = [SampleSpec("s1", "NO", "M"), SampleSpec("s2", "NO", "F")]
    rec = GenotypeRecord("X", 5_000_000, "G", ["A"], ["1", "0/1"])
    write_genotype_vcf(path, samples, [rec]); write_samples_tsv(tsv, samples)
    expected_genotype_counts(rec, samples, "GRCh38")

Population labels are GDI style everywhere: ``AFR``, ``AFR_M``, ``M``, ``NO_F``.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pysam

#: (AC, AN, homozygous, heterozygous, hemizygous); None: not given
Counts = tuple[int | None, int | None, int | None, int | None, int | None]

LENGTHS = {
    "GRCh38": {"1": 248956422, "2": 242193529, "17": 83257441, "X": 156040895, "Y": 57227415},
    "GRCh37": {"1": 249250621, "2": 243199373, "17": 81195210, "X": 155270560, "Y": 59373566},
}
# Written out again here (not imported) so the expected values stay independent.
PARS = {
    "GRCh38": {
        "X": [(10001, 2781479), (155701383, 156030895)],
        "Y": [(10001, 2781479), (56887903, 57217415)],
    },
    "GRCh37": {
        "X": [(60001, 2699520), (154931044, 155260560)],
        "Y": [(10001, 2649520), (59034050, 59373566)],
    },
}


@dataclass
class GroupCounts:
    """One group's counts at one site: AN shared, the rest per ALT allele."""

    an: int
    ac: list[int]
    hom: list[int] | None = None
    hemi: list[int] | None = None


@dataclass
class SiteRecord:
    """One sites-VCF record; ``chrom`` canonical (written with ``chr`` when asked)."""

    chrom: str
    pos: int
    ref: str
    alts: list[str]
    total: GroupCounts
    populations: dict[str, GroupCounts] = field(default_factory=dict)
    filters: list[str] = field(default_factory=list)
    #: The ID column (``rs1;rs2``).
    id: str = "."


@dataclass
class SampleSpec:
    """One sample: name, population, sex (``M``/``F``/``""``)."""

    name: str
    population: str
    sex: str


@dataclass
class GenotypeRecord:
    """One genotype-VCF record; ``gts`` in sample order (``"0/1"``, ``"1"``, ``"./."``)."""

    chrom: str
    pos: int
    ref: str
    alts: list[str]
    gts: list[str]


# ----------------------------------------------------------------------------- naming

_GNOMAD_SEX = {"M": "XY", "F": "XX"}


def gnomad_suffix(label: str) -> str:
    """``AFR_M`` → ``afr_XY``, ``F`` → ``XX``, ``NFE`` → ``nfe``."""
    if label in _GNOMAD_SEX:
        return _GNOMAD_SEX[label]
    pop, _, sex = label.partition("_")
    return f"{pop.lower()}_{_GNOMAD_SEX[sex]}" if sex else pop.lower()


def _info_names(style: str, label: str) -> dict[str, str]:
    """INFO keys of one group (``label == ""``: the total) in a convention."""
    if style == "exac":
        if not label:
            return {"ac": "AC_Adj", "an": "AN_Adj", "hom": "AC_Hom", "hemi": "AC_Hemi"}
        name = {"M": "Male", "F": "Female"}.get(label, label)
        return {
            "ac": f"AC_{name}",
            "an": f"AN_{name}",
            "hom": f"Hom_{name}",
            "hemi": f"Hemi_{name}",
        }
    if not label:
        return {"ac": "AC", "an": "AN", "hom": "nhomalt", "hemi": "nhemi"}
    suffix = gnomad_suffix(label) if style == "gnomad" else label
    return {
        "ac": f"AC_{suffix}",
        "an": f"AN_{suffix}",
        "hom": f"nhomalt_{suffix}",
        "hemi": f"nhemi_{suffix}",
    }


# ----------------------------------------------------------------------------- writing


def _header_lines(assembly: str, chr_prefix: bool, contigs: Iterable[str] | None) -> list[str]:
    lines = ["##fileformat=VCFv4.2", f"##reference={assembly}"]
    lines.append('##FILTER=<ID=PASS,Description="All filters passed">')
    lines.append('##FILTER=<ID=AC0,Description="No high-quality genotype">')
    lines.append('##FILTER=<ID=RF,Description="Random forest">')
    for chrom in contigs or LENGTHS[assembly]:
        length = LENGTHS[assembly].get(chrom)
        name = f"chr{chrom}" if chr_prefix else chrom
        lines.append(f"##contig=<ID={name},length={length}>" if length else f"##contig=<ID={name}>")
    return lines


def write_sites_vcf(
    path: Path,
    records: Sequence[SiteRecord],
    populations: Sequence[str] = (),
    *,
    style: str = "gnomad",
    assembly: str = "GRCh38",
    chr_prefix: bool = True,
    with_hom: bool = True,
    with_hemi: bool = False,
    bgzip: bool = False,
    bcf: bool = False,
    contigs: Iterable[str] | None = None,
    extra_info: str = "",
) -> Path:
    """Write a sites VCF in a convention (``gnomad``, ``exac``, ``gdi``, ``basic``).

    ``bgzip`` writes ``path + ".gz"`` with a ``.tbi``; ``bcf`` writes ``.bcf`` with a
    ``.csi``. Returns the path written. Counts not given (``hom``/``hemi`` ``None``)
    are written as 0 when the header declares them.
    """
    lines = _header_lines(assembly, chr_prefix, contigs)
    groups = ["", *([] if style == "basic" else populations)]
    keys: list[tuple[str, str, str]] = []
    for label in groups:
        names = _info_names(style, label)
        wanted = ["ac", "an"] + (["hom"] if with_hom else []) + (["hemi"] if with_hemi else [])
        for what in wanted:
            keys.append((label, what, names[what]))
            number = "1" if what == "an" else "A"
            lines.append(
                f'##INFO=<ID={names[what]},Number={number},Type=Integer,Description="{what}">'
            )
    lines.append('##INFO=<ID=AF,Number=A,Type=Float,Description="ignored">')
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for rec in records:
        info = []
        for label, what, name in keys:
            group = rec.total if not label else rec.populations.get(label)
            if group is None:
                continue
            if what == "an":
                info.append(f"{name}={group.an}")
                continue
            values = getattr(group, what) or [0] * len(group.ac)
            info.append(f"{name}={','.join(str(v) for v in values)}")
        info.append(
            "AF="
            + ",".join(f"{a / rec.total.an:.4g}" if rec.total.an else "0" for a in rec.total.ac)
        )
        if extra_info:
            info.append(extra_info)
        chrom = f"chr{rec.chrom}" if chr_prefix else rec.chrom
        filters = ";".join(rec.filters) or "PASS"
        lines.append(
            f"{chrom}\t{rec.pos}\t{rec.id}\t{rec.ref}\t{','.join(rec.alts)}\t.\t{filters}\t"
            + ";".join(info)
        )
    return _finish(path, lines, bgzip=bgzip, bcf=bcf)


def write_gnomad_sites_vcf(
    path: Path,
    records: Sequence[SiteRecord],
    populations: Sequence[str],
    bgzip: bool = True,
    **kwargs: object,
) -> Path:
    """A gnomAD v3/v4-style sites file (``AC_afr_XY`` ...), bgzipped and indexed by default."""
    return write_sites_vcf(path, records, populations, style="gnomad", bgzip=bgzip, **kwargs)  # type: ignore[arg-type]


def write_genotype_vcf(
    path: Path,
    samples: Sequence[SampleSpec],
    records: Sequence[GenotypeRecord],
    *,
    assembly: str = "GRCh38",
    chr_prefix: bool = False,
    bgzip: bool = False,
    bcf: bool = False,
    extra_format: bool = True,
) -> Path:
    """Write a VCF with genotypes (GT, plus a DP field to exercise FORMAT splitting)."""
    lines = _header_lines(assembly, chr_prefix, None)
    lines.append('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">')
    lines.append('##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">')
    lines.append(
        "\t".join(
            [
                "#CHROM",
                "POS",
                "ID",
                "REF",
                "ALT",
                "QUAL",
                "FILTER",
                "INFO",
                "FORMAT",
                *(s.name for s in samples),
            ]
        )
    )
    for rec in records:
        chrom = f"chr{rec.chrom}" if chr_prefix else rec.chrom
        cells = [f"{gt}:{i % 50}" if extra_format else gt for i, gt in enumerate(rec.gts)]
        fmt = "GT:DP" if extra_format else "GT"
        lines.append(
            "\t".join(
                [
                    chrom,
                    str(rec.pos),
                    ".",
                    rec.ref,
                    ",".join(rec.alts),
                    ".",
                    "PASS",
                    ".",
                    fmt,
                    *cells,
                ]
            )
        )
    return _finish(path, lines, bgzip=bgzip, bcf=bcf)


def write_samples_tsv(path: Path, samples: Sequence[SampleSpec], header: bool = True) -> Path:
    """Write the ``--samples`` TSV: sample, population, sex."""
    lines = (["sample\tpopulation\tsex"] if header else []) + [
        f"{s.name}\t{s.population}\t{s.sex}" for s in samples
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _finish(path: Path, lines: list[str], *, bgzip: bool, bcf: bool) -> Path:
    path = Path(path)
    text_path = path.with_suffix("") if path.suffix == ".gz" else path
    if bcf:
        text_path = path.with_suffix(".vcf")
    text_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if bcf:
        out = path.with_suffix(".bcf")
        with (
            pysam.VariantFile(str(text_path)) as src,
            pysam.VariantFile(str(out), "wb", header=src.header) as dst,
        ):
            for rec in src:
                dst.write(rec)
        text_path.unlink()
        pysam.tabix_index(str(out), preset="bcf", force=True, csi=True)
        return out
    if bgzip:
        return Path(pysam.tabix_index(str(text_path), preset="vcf", force=True))
    return text_path


def truncate_file(path: Path, keep_fraction: float = 0.6) -> Path:
    """Cut a (bgzipped) file short, as an interrupted copy would."""
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: int(len(data) * keep_fraction)])
    return Path(path)


def gzip_plain(path: Path) -> Path:
    """A non-bgzf gzip copy (``.gz``), as ``gzip file.vcf`` makes."""
    out = Path(f"{path}.gz")
    out.write_bytes(gzip.compress(Path(path).read_bytes()))
    return out


# ----------------------------------------------------------------------------- expected


def in_haploid_region(chrom: str, pos: int, assembly: str) -> bool:
    """Males are haploid on X and Y outside the PARs."""
    if chrom not in ("X", "Y"):
        return False
    return not any(a <= pos <= b for a, b in PARS[assembly][chrom])


def expected_site_counts(
    rec: SiteRecord, assembly: str = "GRCh38", *, with_hom: bool = True, with_hemi: bool = False
) -> list[dict[str, Counts]]:
    """Per ALT allele, ``{label: counts}`` (``""`` is the total) a sites record should give.

    Rule (nodes.build.vcf_counts docstring): het = AC - 2*hom - hemi; on haploid regions male
    groups are all hemizygous (hemi = AC unless given), and a group with a male part
    takes hemi from it and excludes the male part's homozygotes when no hemi is given.
    A count the file does not give (and that the rule cannot derive) is ``None``.
    """
    haploid = in_haploid_region(rec.chrom, rec.pos, assembly)
    groups = {"": rec.total, **rec.populations}
    result = []
    for a in range(len(rec.alts)):
        row: dict[str, Counts] = {}
        for label, g in groups.items():
            ac, an = g.ac[a], g.an
            hom = g.hom[a] if (with_hom and g.hom) else None
            hemi = g.hemi[a] if (with_hemi and g.hemi) else None
            male = label == "M" or label.endswith("_M")
            male_label = f"{label}_M" if label else "M"
            if haploid and male:
                row[label] = (ac, an, 0, 0, hemi if hemi is not None else ac)
                continue
            if haploid and male_label in groups and hemi is None:
                part = groups[male_label]
                hemi = part.ac[a]
                if hom is not None and with_hom and part.hom:
                    hom = max(0, hom - part.hom[a])
            het = ac - 2 * hom - (hemi or 0) if hom is not None else None
            row[label] = (ac, an, hom, het, hemi)
        result.append(row)
    return result


def _called(gt: str) -> list[int | None]:
    return [None if p == "." else int(p) for p in gt.replace("|", "/").split("/")]


def expected_genotype_counts(
    rec: GenotypeRecord, samples: Sequence[SampleSpec], assembly: str = "GRCh38"
) -> list[dict[str, Counts]]:
    """Per ALT allele, ``{label: counts}`` from the genotypes, one sample at a time."""
    haploid_region = in_haploid_region(rec.chrom, rec.pos, assembly)
    result = []
    for a in range(1, len(rec.alts) + 1):
        sums: dict[str, list[int]] = {}
        for sample, gt in zip(samples, rec.gts, strict=True):
            labels = [""]
            if sample.population:
                labels.append(sample.population)
                if sample.sex:
                    labels.append(f"{sample.population}_{sample.sex}")
            for label in labels:
                sums.setdefault(label, [0, 0, 0, 0, 0])
            alleles = _called(gt)
            if haploid_region and sample.sex == "F" and rec.chrom == "Y":
                continue
            if haploid_region and sample.sex == "M" and len(alleles) == 2:
                known = [x for x in alleles if x is not None]
                if len(known) == 2 and known[0] != known[1]:
                    continue  # heterozygous male: missing
                alleles = known[:1]
            known = [x for x in alleles if x is not None]
            ac = known.count(a)
            an = len(known)
            hom = het = hemi = 0
            if len(alleles) == 1 and ac == 1:
                hemi = 1
            elif len(alleles) >= 2 and len(known) == len(alleles) and ac:
                hom, het = (1, 0) if ac == len(alleles) else (0, 1)
            for label in labels:
                s = sums[label]
                s[0] += ac
                s[1] += an
                s[2] += hom
                s[3] += het
                s[4] += hemi
        result.append({label: (s[0], s[1], s[2], s[3], s[4]) for label, s in sums.items()})
    return result
