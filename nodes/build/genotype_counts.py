"""Allele counts computed from genotypes (GT) of a VCF with samples.

Groups: the total (label ``""``), each population ``P`` of the samples file and its
sexes ``P_M``/``P_F`` (GDI labels). Genotypes are only counted, never stored.

Counting rules, per sample call:

* a missing call (``./.``, ``.``) adds nothing; a half-missing call (``./1``) adds its
  called allele to AN and AC but is neither homozygous nor heterozygous;
* a diploid call adds 2 to AN; ``1/1`` is homozygous and ``0/1`` heterozygous for 1;
* a haploid call adds 1 to AN, and is hemizygous for the allele it carries;
* males on X outside the pseudo-autosomal regions, and on Y outside them, are
  haploid: a diploid male call there is read as haploid (``1/1`` → ``1``,
  ``./1`` → ``1``) and a heterozygous male call (``0/1``), which cannot be, is treated
  as missing (as gnomAD does);
* females on Y are ignored; samples of unknown sex are counted as called.

Samples file: TSV ``sample  population  sex`` (sex ``M``/``F``/``male``/``female``/
``1``/``2``; anything else is unknown). A header line whose first field is ``sample``
is skipped; ``#`` lines are comments. VCF samples absent from the file are ignored.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mesh.errors import IndexBuildError
from mesh.model.genome import Assembly
from nodes.build.vcf_counts import Counts, RecordError

#: Pseudo-autosomal regions, 1-based inclusive, per assembly and chromosome.
PAR_REGIONS: dict[Assembly, dict[str, tuple[tuple[int, int], ...]]] = {
    Assembly.GRCH37: {
        "X": ((60001, 2699520), (154931044, 155260560)),
        "Y": ((10001, 2649520), (59034050, 59373566)),
    },
    Assembly.GRCH38: {
        "X": ((10001, 2781479), (155701383, 156030895)),
        "Y": ((10001, 2781479), (56887903, 57217415)),
    },
}
_SEXES = {"m": "M", "male": "M", "1": "M", "f": "F", "female": "F", "2": "F"}


def is_haploid_for_males(chromosome: str, position: int, assembly: Assembly) -> bool:
    """Whether males carry one copy here: X or Y outside the PARs."""
    regions = PAR_REGIONS[assembly].get(chromosome)
    if regions is None:
        return False
    return not any(start <= position <= end for start, end in regions)


@dataclass(frozen=True, slots=True)
class Sample:
    """One line of the samples file."""

    name: str
    population: str
    sex: str  # "M", "F" or "" (unknown)


def read_samples(path: Path) -> list[Sample]:
    """Parse a samples TSV (format in the module docstring)."""
    samples: list[Sample] = []
    seen: set[str] = set()
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise IndexBuildError(f"samples file {path}: {exc}") from exc
    for number, line in enumerate(lines, start=1):
        fields = line.rstrip("\r").split("\t")
        if not line.strip() or line.startswith("#") or (number == 1 and fields[0] == "sample"):
            continue
        if len(fields) < 2 or not fields[0] or not fields[1]:
            raise IndexBuildError(
                f"samples file {path}: line {number}: expected sample<TAB>population<TAB>sex"
            )
        if fields[0] in seen:
            raise IndexBuildError(f"samples file {path}: line {number}: sample listed twice")
        seen.add(fields[0])
        sex = _SEXES.get(fields[2].strip().lower(), "") if len(fields) > 2 else ""
        samples.append(Sample(fields[0], fields[1].strip(), sex))
    return samples


@dataclass(frozen=True, slots=True)
class _Cell:
    """Samples of one population and sex: their VCF columns and output groups."""

    sex: str
    columns: tuple[int, ...]
    groups: tuple[int, ...]


class GenotypeCounter:
    """Counts GT strings per group; built once per VCF header."""

    def __init__(self, vcf_samples: Sequence[str], samples: Sequence[Sample] | None) -> None:
        column = {name: i for i, name in enumerate(vcf_samples)}
        if samples is None:
            samples = [Sample(name, "", "") for name in vcf_samples]
        used = [s for s in samples if s.name in column]
        self.sample_count = len(used)
        labels = {""}
        for s in used:
            if s.population:
                labels.add(s.population)
                if s.sex:
                    labels.add(f"{s.population}_{s.sex}")
        self.labels: tuple[str, ...] = ("", *sorted(labels - {""}))
        index = {label: i for i, label in enumerate(self.labels)}
        by_cell: dict[tuple[str, str], list[int]] = {}
        for s in used:
            by_cell.setdefault((s.population, s.sex), []).append(column[s.name])
        self._cells = []
        for (population, sex), columns in sorted(by_cell.items()):
            groups = [0]
            if population:
                groups.append(index[population])
                if sex:
                    groups.append(index[f"{population}_{sex}"])
            self._cells.append(_Cell(sex, tuple(sorted(columns)), tuple(groups)))
        # Parsed GT string → (AN, ((allele, copies), ...), kind); kind 2 diploid, 1 haploid.
        self._cache: dict[tuple[str, bool], tuple[int, tuple[tuple[int, int], ...], int]] = {}

    def count(
        self, genotypes: Sequence[str], n_alt: int, haploid_region: bool, on_y: bool
    ) -> list[list[Counts | None]]:
        """Return ``counts[allele][group]`` from the GT strings of every VCF sample column."""
        n_groups = len(self.labels)
        # acc[group] = [AN, then per allele AC, hom, het, hemi]
        acc = [[0] * (1 + 4 * n_alt) for _ in range(n_groups)]
        for cell in self._cells:
            male = cell.sex == "M"
            if on_y and haploid_region and cell.sex == "F":
                continue
            haploid = haploid_region and male
            if len(cell.columns) == 1:
                tally = Counter([genotypes[cell.columns[0]]])
            else:
                tally = Counter(operator.itemgetter(*cell.columns)(genotypes))
            sums = [0] * (1 + 4 * n_alt)
            for gt, n in tally.items():
                key = (gt, haploid)
                parsed = self._cache.get(key)
                if parsed is None:
                    parsed = self._cache[key] = _parse(gt, haploid)
                an, alleles, kind = parsed
                sums[0] += an * n
                for allele, copies in alleles:
                    if allele > n_alt:
                        raise RecordError(f"GT {gt} has allele {allele} but ALT has {n_alt}")
                    base = 1 + 4 * (allele - 1)
                    sums[base] += copies * n
                    if kind == 1:
                        sums[base + 3] += n
                    elif kind == 2:
                        sums[base + (1 if copies == an else 2)] += n
            for g in cell.groups:
                target = acc[g]
                for i, v in enumerate(sums):
                    target[i] += v
        result: list[list[Counts | None]] = []
        for a in range(n_alt):
            base = 1 + 4 * a
            row: list[Counts | None] = []
            for target in acc:
                row.append((target[base], target[0], *target[base + 1 : base + 4]))  # type: ignore[arg-type]
            result.append(row)
        return result


def _parse(gt: str, haploid: bool) -> tuple[int, tuple[tuple[int, int], ...], int]:
    """Return (AN contribution, ALT alleles with copies, kind: 0 none, 1 haploid, 2 diploid)."""
    parts = gt.replace("|", "/").split("/")
    try:
        called = [int(p) for p in parts if p != "."]
    except ValueError:
        raise RecordError(f"GT {gt!r} is not a genotype") from None
    if any(a < 0 for a in called):
        raise RecordError(f"GT {gt!r} is not a genotype")
    if haploid and len(parts) == 2:
        if len(called) == 2 and called[0] != called[1]:
            return 0, (), 0  # a heterozygous male on a haploid region: treated as missing
        called = called[:1]
        parts = parts[:1]
    if not called:
        return 0, (), 0
    kind = 0
    if len(parts) == 1:
        kind = 1
    elif len(called) == len(parts):
        kind = 2
    alleles = tuple(sorted((a, called.count(a)) for a in set(called) if a > 0))
    return len(called), alleles, kind
