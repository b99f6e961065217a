"""What a file's header says about its counts: the convention, why, and what each group carries.

:func:`detect` is the one place a VCF/BCF header (and, where the header alone cannot
say, its first records) is read for its count convention. The builder uses it to
count, ``index preview`` to show it, and the index records its
:meth:`Detection.to_json` in ``dataset.json`` (``index info`` shows it)::

    with pysam.VariantFile(path) as vcf:
        found = detect(vcf.header, itertools.islice(vcf, 100))
    found.name, found.reasons, found.groups[0].fields  # "exac", (...), {"ac": "AC_Adj", ...}

Conventions (the README's table says which fields each reads): the INFO ones of
:mod:`nodes.build.vcf_counts` (``exac``, ``gnomad``, ``gnomad-<set>``, ``gdi``, ``basic``,
``allelemesh``, ``info-map``) and ``genotypes`` (counted from GT). How the alleles of a
record were split is part of it: :data:`SPLIT_VT` (``vt decompose``/``vt normalize``,
arrays kept in the original allele order, the original alleles in
``OLD_MULTIALLELIC``/``OLD_VARIANT``), :data:`SPLIT_BCFTOOLS` (``bcftools norm -m-``,
arrays already split) or :data:`SPLIT_HERE` (multi-allelic records split by the builder).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mesh.errors import IndexBuildError
from nodes.build._arrays import ALLELE_TAGS
from nodes.build.vcf_counts import (
    GROUPS_HEADER_KEY,
    InfoConvention,
    check_header,
    declared_convention,
    detect_convention,
    subsets_of,
)

__all__ = ["ALLELE_TAGS", "Detection", "GroupReport", "detect", "detect_file"]

SPLIT_VT = "vt"
SPLIT_BCFTOOLS = "bcftools"
SPLIT_HERE = "here"
#: Per-variant summaries of gnomAD files: reported here; the chosen set's served as
#: ``VariantFrequency.extras`` (:mod:`nodes.build._extras`).
_EXTRA_PREFIXES = ("grpmax", "AC_grpmax", "AF_grpmax", "faf95", "fafmax", "faf99")
_ROLES = ("ac", "an", "hom", "het", "hemi", "af")


@dataclass(frozen=True)
class GroupReport:
    """One population/sex group (``label`` ``""``: the total) and the INFO keys it reads."""

    label: str
    #: role (``ac``, ``an``, ``hom``, ``het``, ``hemi``, ``af``) → INFO key read for it.
    fields: dict[str, str]

    @property
    def frequency_only(self) -> bool:
        """Given by a frequency alone: served with the frequency, counts absent."""
        return "ac" not in self.fields and "af" in self.fields


@dataclass(frozen=True)
class Detection:
    """What :func:`detect` found in one file's header (and first records)."""

    name: str
    #: Why: the header lines and tags that decided it, in words.
    reasons: tuple[str, ...]
    groups: tuple[GroupReport, ...]
    #: How multi-allelic sites are written (:data:`SPLIT_VT`, :data:`SPLIT_BCFTOOLS`,
    #: :data:`SPLIT_HERE`).
    allele_split: str = SPLIT_HERE
    #: The gnomAD v4 count set read (``joint``, ``exomes``, ``genomes``) and those present.
    subset: str = ""
    subsets: tuple[str, ...] = ()
    #: Count-like INFO keys present but not read (other sets, ``AS_*``), summarized.
    ignored: tuple[str, ...] = ()
    #: Per-variant extras present (``grpmax``, ``faf95``...), every set's.
    extras: tuple[str, ...] = ()
    #: The declared ``Number`` of every INFO key read (``A``, ``R``, ``G``, ``1``, ``.``).
    numbers: dict[str, str] = field(default_factory=dict)
    #: The convention the INFO counter uses (``None``: counted from genotypes).
    convention: InfoConvention | None = field(default=None, compare=False, repr=False)

    @property
    def populations(self) -> list[str]:
        """The population/sex labels besides the total."""
        return [g.label for g in self.groups if g.label]

    def to_json(self) -> dict[str, Any]:
        """The ``convention`` object of ``dataset.json`` (and of ``index preview --json``)."""
        return {
            "name": self.name,
            "reasons": list(self.reasons),
            "allele_split": self.allele_split,
            "subset": self.subset,
            "subsets": list(self.subsets),
            "groups": {g.label or "total": dict(g.fields) for g in self.groups},
            "ignored": list(self.ignored),
            "extras": list(self.extras),
        }


def detect_file(
    path: str,
    *,
    info_map: InfoConvention | None = None,
    genotypes: bool = False,
    subset: str = "",
    sample: int = 100,
) -> Detection:
    """:func:`detect` on a file's header and its first ``sample`` records."""
    from itertools import islice

    from nodes.build._reader import open_vcf

    vcf = open_vcf(path)
    try:
        return detect(
            vcf.header, islice(vcf, sample), info_map=info_map, genotypes=genotypes, subset=subset
        )
    except (OSError, ValueError) as exc:
        raise IndexBuildError(f"{path}: cannot read its first records: {exc}") from exc
    finally:
        vcf.close()


def detect(
    header: Any,
    records: Iterable[Any] = (),
    *,
    info_map: InfoConvention | None = None,
    genotypes: bool = False,
    subset: str = "",
) -> Detection:
    """The count convention of a pysam header (and of its first ``records``).

    ``info_map`` (``--info-map``) replaces detection, ``genotypes`` (``--samples``)
    counts from GT; otherwise a ``##allelemesh_groups`` line declares the groups, or
    the INFO keys are recognized (:func:`nodes.build.vcf_counts.detect_convention`). Raises
    :class:`IndexBuildError` when the file holds no counts of a known kind, or a key
    the convention needs is missing from the header.
    """
    info_keys = list(header.info.keys())
    reasons: list[str] = []
    convention: InfoConvention | None
    declared = next((r for r in header.records if r.key == GROUPS_HEADER_KEY), None)
    if info_map is not None:
        convention = info_map
        reasons.append("--info-map names the INFO keys")
    elif genotypes:
        convention = None
    elif declared is not None:
        convention = declared_convention(declared.value or "", info_keys)
        reasons.append(f"header line ##{GROUPS_HEADER_KEY}={declared.value} declares the groups")
    else:
        convention = detect_convention(info_keys, subset)
        if convention is not None:
            reasons.append(_why(convention))
    if convention is not None:
        check_header(convention, info_keys)
    elif len(header.samples) and "GT" in header.formats:
        reasons.append(
            f"{len(header.samples)} sample columns with FORMAT GT"
            + (" (--samples)" if genotypes else "; INFO has no AC/AN of a known convention")
        )
    else:
        raise IndexBuildError(
            "no allele counts: INFO has no AC/AN of a known convention "
            "(give --info-map) and there are no genotypes"
        )
    split, why_split = _split(header, info_keys, records)
    if why_split:
        reasons.append(why_split)
    sets = subsets_of(info_keys)
    chosen = convention.name.removeprefix("gnomad-") if convention and sets else ""
    if chosen and chosen not in sets:
        chosen = ""
    if chosen and not subset:
        reasons.append(
            f"count sets {', '.join(sets)} in the header: {chosen} read (choose with --subset)"
        )
    groups = _groups(convention)
    read = {k for g in groups for k in g.fields.values()}
    if convention is not None:
        _check_declarations(header, groups)
    return Detection(
        name=convention.name if convention else "genotypes",
        reasons=tuple(reasons),
        groups=groups,
        allele_split=split,
        subset=chosen,
        subsets=tuple(sets),
        ignored=_ignored(info_keys, read),
        extras=tuple(k for k in info_keys if k.startswith(_EXTRA_PREFIXES)),
        numbers={k: str(header.info[k].number) for k in sorted(read) if k in header.info},
        convention=convention,
    )


def _why(convention: InfoConvention) -> str:
    total = convention.groups[0][1]
    keys = f"INFO {total.ac} and {total.an}"
    what = {
        "exac": "ExAC / gnomAD v2.0 names",
        "gnomad": "gnomAD names (population codes, _XX/_XY sexes)",
        "gdi": "GDI country-file names (AC_<L>/AN_<L> for country or population codes)",
        "basic": "no population keys of a known kind",
    }.get(convention.name, "gnomAD v4 joint-file names")
    pops = len(convention.groups) - 1
    return f"{keys} with {what}: {pops} population/sex group(s)"


def _split(header: Any, info_keys: list[str], records: Iterable[Any]) -> tuple[str, str]:
    """How the file's multi-allelic sites are written, and why that was concluded."""
    tags = [t for t in ALLELE_TAGS if t in info_keys]
    prefixes = ("vt_", "bcftools_norm")
    commands = [r.key for r in header.records if r.key and r.key.startswith(prefixes)]
    if tags:
        sample = list(records)
        line = f"INFO {'/'.join(tags)} in the header"
        if any(c.startswith("vt_") for c in commands):
            line += f" (##{next(c for c in commands if c.startswith('vt_'))})"
        line += ": records split by vt keep their arrays in the original allele order"
        if sample:
            seen = sum(1 for rec in sample if any(t in rec.info for t in tags))
            line += f"; {seen} of the first {len(sample)} records carry the tag"
        return SPLIT_VT, line
    for command in commands:
        value = next(r.value for r in header.records if r.key == command)
        if command.startswith("bcftools_norm") and "-m" in (value or "") and "-m+" not in value:
            return SPLIT_BCFTOOLS, f"##{command}={value}: arrays already split per allele"
    return SPLIT_HERE, ""


def _groups(convention: InfoConvention | None) -> tuple[GroupReport, ...]:
    if convention is None:
        return (GroupReport("", {"ac": "GT", "an": "GT", "hom": "GT", "het": "GT", "hemi": "GT"}),)
    reports = []
    for label, f in convention.groups:
        keys = (f.ac, f.an, f.hom, f.het, f.hemi, f.af)
        reports.append(GroupReport(label, {r: k for r, k in zip(_ROLES, keys, strict=True) if k}))
    return tuple(reports)


def _ignored(info_keys: list[str], read: set[str]) -> tuple[str, ...]:
    """Count-like keys not read, a few by name and the rest by number."""
    allele_specific = [k for k in info_keys if k.startswith("AS_")]
    counts = [
        k
        for k in info_keys
        if k not in read
        and not k.startswith("AS_")
        and k.split("_", 1)[0] in ("AC", "AN", "nhomalt", "nhemi", "nhet", "Hom", "Hemi", "HOM")
    ]
    out = [f"{len(allele_specific)} AS_* fields"] if allele_specific else []
    out += counts[:8]
    if len(counts) > 8:
        out.append(f"and {len(counts) - 8} more count keys")
    return tuple(out)


def _check_declarations(header: Any, groups: tuple[GroupReport, ...]) -> None:
    """Refuse a count key whose ``##INFO`` line cannot hold what the counts need.

    A count declared ``Flag`` (htslib reads ``AC=3`` as "set"), ``String`` or ``Float``
    (a fraction is no count) would be read wrong whatever the records say, and a
    ``Number=G`` allele count or a per-allele ``AN`` has no per-allele reading.
    """
    for group in groups:
        for role, key in group.fields.items():
            meta = header.info[key]
            declared = f"##INFO=<ID={key},Number={meta.number},Type={meta.type}>"
            wanted = ("Float", "Integer") if role == "af" else ("Integer",)
            if meta.type not in wanted:
                raise IndexBuildError(
                    f"{declared}: the {_ROLE_NAMES[role]} of group {group.label or 'total'} "
                    f"must be Type={' or '.join(wanted)}, not {meta.type}: fix the header line",
                    reason="HEADER_TYPE",
                )
            number = str(meta.number)
            if (role == "an" and number not in ("1", ".")) or (
                role in ("ac", "het", "hemi", "af") and number == "G"
            ):
                raise IndexBuildError(
                    f"{declared}: the {_ROLE_NAMES[role]} of group {group.label or 'total'} "
                    f"cannot be Number={number}",
                    reason="HEADER_NUMBER",
                )


_ROLE_NAMES = {
    "ac": "allele count",
    "an": "allele number",
    "hom": "homozygous count",
    "het": "heterozygous count",
    "hemi": "hemizygous count",
    "af": "allele frequency",
}
