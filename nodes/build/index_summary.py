"""What a set of input files yields: the summary ``index preview`` and ``index build`` print.

One summary, two producers: :mod:`nodes.build.preview` fills it from a sample (or all)
of the records without writing anything, :func:`nodes.build.builder.build_index` from
the whole build. Both read with the builder's readers (:mod:`nodes.build._reader`) and
hand every stored value to the same :class:`ValueCheck` (the CLI gives the node's
serving rule, :class:`nodes.serve.disclosure_tally.DisclosureTally`), so what the
preview says is what the build stores and the node releases.

:meth:`IndexSummary.to_json` is the stable shape ``--json`` prints (documented in the
README, ``summary_version`` raised on any incompatible change); :meth:`IndexSummary.lines`
the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from nodes.build._reader import PysamReader, Stats
from nodes.build._vcf_text import line_batches
from nodes.build.vcf_counts import is_male
from nodes.index.records import ValueCodec

SUMMARY_VERSION = 1


class ValueCheck(Protocol):
    """Looks at every stored value of a build or preview (the disclosure tally)."""

    def add(self, value: bytes, codec: ValueCodec) -> None:
        """One stored value (``nodes.index.records`` layout, read by ``codec``), each key once."""

    def to_json(self) -> dict[str, Any]:
        """What it found: the summary's ``disclosure`` object."""


@dataclass
class FileSummary:
    """One input file: how it is read and what reading it counted."""

    path: str
    #: :meth:`nodes.build.conventions.Detection.to_json`: name, reasons, groups ...
    convention: dict[str, Any]
    contigs_matched: int
    #: ``(label, {count: INFO key or "GT"})`` per group, the total (label ``""``) first.
    groups: list[tuple[str, dict[str, str]]]
    records: int = 0
    alleles: int = 0
    invalid: int = 0
    symbolic: int = 0
    #: Alleles (or records) not indexed, by kind (``symbolic``, ``star``, ``reference_block``...).
    kinds: dict[str, int] = field(default_factory=dict)
    #: The first few bad records: ``line`` in the file (text files read whole),
    #: ``number`` among its records (read whole), ``record`` (``chrom:pos``), ``message``.
    problems: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, reader: PysamReader, stats: Stats) -> FileSummary:
        """A file's summary from its reader and what reading it counted."""
        detection = reader.detection
        groups = [(g.label, dict(g.fields)) for g in detection.groups]
        if not groups:  # counted from genotypes: every group carries all five
            genotype = dict.fromkeys(("ac", "an", "hom", "het", "hemi"), "GT")
            groups = [(label, dict(genotype)) for label in reader.labels]
        mine = [p for p in stats.problems if p.file == reader.path]
        header = _header_lines(reader) if any(p.number for p in mine) else None
        problems = [
            {
                "line": p.number + header if p.number and header is not None else None,
                "number": p.number,
                "record": p.record,
                "message": p.message,
            }
            for p in mine
        ]
        return cls(
            path=reader.path,
            convention=detection.to_json(),
            contigs_matched=reader.contigs_checked,
            groups=groups,
            records=stats.records,
            alleles=stats.alleles,
            invalid=stats.invalid,
            symbolic=stats.symbolic,
            kinds=dict(sorted(stats.kinds.items())),
            problems=problems,
        )

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.groups[1:]]

    def to_json(self) -> dict[str, Any]:
        labels = self.labels
        return {
            "path": self.path,
            "convention": self.convention,
            "assembly_check": {"contigs_matched": self.contigs_matched},
            "populations": sorted({_population(label) for label in labels} - {""}),
            "sexes": sorted({_sex(label) for label in labels} - {""}),
            "groups": [
                {"label": label or "Total", "fields": fields} for label, fields in self.groups
            ],
            "records": self.records,
            "alleles": self.alleles,
            "skipped": {
                "invalid": self.invalid,
                "symbolic": self.symbolic,
                "by_kind": dict(self.kinds),
            },
            "problems": [dict(p) for p in self.problems],
        }


def _population(label: str) -> str:
    """``NO_M`` → ``NO``; a sex alone (``M``) belongs to no population."""
    if label in ("M", "F"):
        return ""
    return label[:-2] if label.endswith(("_M", "_F")) else label


def _sex(label: str) -> str:
    if is_male(label):
        return "M"
    return "F" if label == "F" or label.endswith("_F") else ""


def _header_lines(reader: PysamReader) -> int | None:
    """How many header lines open a VCF text file (``None``: BCF, numbered by record)."""
    compression = reader.vcf.compression
    if reader.vcf.format != "VCF" or compression not in ("NONE", "GZIP", "BGZF"):
        return None
    count = 0
    for lines in line_batches(reader.path, compression):
        for line in lines:
            if line[:1] != b"#":
                return count
            count += 1
    return count


@dataclass
class IndexSummary:
    """The whole summary: per file, the totals, and the disclosure tally (with a policy)."""

    assembly: str
    files: list[FileSummary]
    variants: int
    duplicates: int
    #: ``None``: every record was read; else at most this many per file.
    sample_records: int | None = None
    disclosure: ValueCheck | None = None
    #: Notes on what the counts cannot tell (e.g. unsorted input in a preview).
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        assembly: str,
        readers: Sequence[PysamReader],
        per_file: Sequence[Stats],
        variants: int,
        duplicates: int,
        **rest: Any,
    ) -> IndexSummary:
        files = [FileSummary.of(r, s) for r, s in zip(readers, per_file, strict=True)]
        return cls(assembly, files, variants, duplicates, **rest)

    def to_json(self) -> dict[str, Any]:
        files = [f.to_json() for f in self.files]
        return {
            "summary_version": SUMMARY_VERSION,
            "assembly": self.assembly,
            "sample_records_per_file": self.sample_records,
            "files": files,
            "records": sum(f.records for f in self.files),
            "alleles": sum(f.alleles for f in self.files),
            "variants": self.variants,
            "skipped": {
                "invalid": sum(f.invalid for f in self.files),
                "symbolic": sum(f.symbolic for f in self.files),
                "duplicate": self.duplicates,
            },
            "disclosure": self.disclosure.to_json() if self.disclosure is not None else None,
            "notes": list(self.notes),
        }

    def lines(self) -> list[str]:
        """The summary as text, one line each."""
        data = self.to_json()
        scope = (
            f"the first {self.sample_records:,} records of each file (--all reads everything)"
            if self.sample_records is not None
            else "every record"
        )
        out = [f"assembly {self.assembly}; read {scope}"]
        for f in data["files"]:
            out.append(f"{f['path']}:")
            convention = f["convention"]
            out.append(f"  convention {convention['name']}:")
            out.extend(f"    {reason}" for reason in convention["reasons"])
            if convention.get("ignored"):
                out.append(f"    not read: {', '.join(convention['ignored'])}")
            out.append(
                f"  assembly check: {f['assembly_check']['contigs_matched']} ##contig "
                f"length(s) match {self.assembly}"
            )
            out.append(f"  populations: {', '.join(f['populations']) or 'none'}")
            out.append(f"  sexes: {', '.join(f['sexes']) or 'none'}")
            out.append("  count fields per group:")
            for group in f["groups"]:
                fields = ", ".join(f"{k}={v}" for k, v in group["fields"].items())
                out.append(f"    {group['label']}: {fields or 'none'}")
            skipped = f["skipped"]
            out.append(
                f"  {f['records']:,} records, {f['alleles']:,} alleles; skipped: "
                f"{skipped['invalid']:,} invalid, {skipped['symbolic']:,} not sequence"
                + (
                    " (" + ", ".join(f"{n:,} {k}" for k, n in skipped["by_kind"].items()) + ")"
                    if skipped["by_kind"]
                    else ""
                )
            )
            for problem in f["problems"]:
                where = (
                    f"line {problem['line']}"
                    if problem["line"]
                    else f"record #{problem['number']}"
                    if problem["number"]
                    else "record"
                )
                out.append(f"  problem at {where} ({problem['record']}): {problem['message']}")
        skipped = data["skipped"]
        out.append(
            f"total: {data['records']:,} records, {data['alleles']:,} alleles, "
            f"{data['variants']:,} variants; skipped: {skipped['invalid']:,} invalid, "
            f"{skipped['symbolic']:,} not sequence, {skipped['duplicate']:,} duplicate"
        )
        if skipped["invalid"]:
            out.append(
                "  (a build with --on-error fail stops at the first invalid record; "
                "with --on-error skip it leaves them out)"
            )
        out.extend(_disclosure_lines(data["disclosure"]))
        out.extend(f"note: {note}" for note in self.notes)
        return out


def _disclosure_lines(d: dict[str, Any] | None) -> list[str]:
    if d is None:
        return ["disclosure: no policy given (--policy): counts would be released as stored"]
    p = d["policy"]
    out = [
        f"disclosure (policy version {d['policy_version']}): min_individuals "
        f"{p['min_individuals']}, min_allele_count {p['min_allele_count']} (floors: "
        f"{p['allele_floor']} alleles, {p['individual_floor']} individuals), round_counts_to "
        f"{p['round_counts_to']}, min_population_size {p['min_population_size']}, "
        f"on_suppression {p['on_suppression']}",
        f"  {d['variants']:,} variants with {d['population_rows']:,} population rows",
        f"  totals withheld: {d['totals_withheld_by_floor']:,} by the floor, "
        f"{d['totals_withheld_unknown_counts']:,} with unknown counts",
        f"  population rows: {d['population_rows_too_small']:,} left out by "
        f"min_population_size, {d['population_rows_withheld_by_floor']:,} withheld by the "
        f"floor, {d['population_rows_withheld_complementary']:,} more by complementary "
        "suppression",
        f"  variants collapsed to the total: {d['variants_collapsed']:,} "
        f"({d['population_rows_collapsed']:,} more rows)",
        f"  rows rounded: {d['rows_rounded']:,}",
        f"  smallest released count: {_or_none(d['smallest_released_count'])} "
        f"(genotype counts: {_or_none(d['smallest_released_genotype_count'])})",
    ]
    return out


def _or_none(value: int | None) -> str:
    return "none" if value is None else f"{value:,}"
