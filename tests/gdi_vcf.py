"""GDI country files as GDI's own VCF-to-node writer names them, with their true counts.

A dataset is a cohort of individuals (sex, country of birth, ancestry) and their
genotypes at some sites; the INFO fields are the cohort's counts per GDI label, in
GDI's convention:

* totals ``AC``, ``AN``, ``AF``, ``AC_Het``, ``AC_Hom``, ``AC_Hemi``;
* per label ``L``: ``AC_<L>``, ``AN_<L>``, ``AF_<L>``, ``AC_<L>_Het``, ``AC_<L>_Hom``,
  ``AC_<L>_Hemi``: sex over everybody (``M``, ``F``), country of birth (``FR``) and
  both (``FR_M``) side by side, and an ancestry with a sex (``AFR_M``);
* ``F`` gives only ``AC_F``/``AN_F`` (its genotype counts are unknown, so absent);
* ``DE`` gives only ``AF_DE`` (a frequency without counts).

:func:`expected_rows` is what a node must answer for each label, counted here from
the genotypes, one individual at a time (never by the code under test). Sites are
autosomal, so a hemizygous count written is a true 0.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: The labels with full counts, the counts-only label, the frequency-only label.
FULL_LABELS = ("M", "FR", "FR_M", "AFR_M")
COUNTS_ONLY = "F"
AF_ONLY = "DE"
CHROM = "21"


@dataclass(frozen=True)
class Person:
    sex: str  # "M" or "F"
    birth: str  # country of birth: FR, DE, NO
    ancestry: str  # AFR or NFE

    def labels(self) -> set[str]:
        """Every GDI label this person counts in (besides the total)."""
        out = {self.sex, self.birth, f"{self.birth}_{self.sex}", f"{self.ancestry}_{self.sex}"}
        return out


@dataclass(frozen=True)
class Site:
    pos: int
    ref: str
    alt: str


@dataclass
class Cohort:
    """One dataset: its people and, per site it holds, every person's genotype."""

    people: list[Person]
    genotypes: dict[Site, list[str]] = field(default_factory=dict)


def sites(count: int, start: int = 10_000_000, step: int = 37, seed: int = 11) -> list[Site]:
    """Biallelic sites in genomic order (a few indels among substitutions)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        ref = rng.choice("ACGT")
        alt = rng.choice([b for b in "ACGT" if b != ref])
        if i % 9 == 4:
            alt = ref + rng.choice("ACGT")  # an insertion
        out.append(Site(start + step * i, ref, alt))
    return out


def cohort(seed: int, size: int, held: Sequence[Site]) -> Cohort:
    """A random cohort holding ``held``, with a few missing calls and some 0 counts."""
    rng = random.Random(seed)
    people = [
        Person(
            sex=rng.choice("MF"),
            birth=rng.choice(["FR", "FR", "DE", "NO"]),
            ancestry=rng.choice(["AFR", "NFE", "NFE"]),
        )
        for _ in range(size)
    ]
    # Every label has people in it (a label nobody is in has no frequency at all).
    people[:4] = [Person("M", "FR", "AFR"), Person("F", "FR", "NFE"), Person("M", "DE", "NFE"),
                  Person("F", "NO", "AFR")]  # fmt: skip
    found = Cohort(people)
    for site in held:
        rate = rng.choice([0.02, 0.1, 0.3])
        calls = []
        for _ in people:
            if rng.random() < 0.03:
                calls.append("./.")
                continue
            a, b = (int(rng.random() < rate), int(rng.random() < rate))
            calls.append(f"{min(a, b)}/{max(a, b)}")
        if all(c in ("0/0", "./.") for c in calls):
            calls[0] = "0/1"  # a site in a sites file has the allele at least once
        found.genotypes[site] = calls
    return found


@dataclass(frozen=True)
class Row:
    """One label's counts as an answer should give them (``None``: absent)."""

    ac: int | None
    an: int | None
    hom: int | None
    het: int | None
    hemi: int | None
    af: float | None


def _count(people: Sequence[Person], calls: Sequence[str], wanted: str) -> tuple[int, ...]:
    ac = an = hom = het = 0
    for person, call in zip(people, calls, strict=True):
        if wanted != "Total" and wanted not in person.labels():
            continue
        if call == "./.":
            continue
        copies = call.count("1")
        an += 2
        ac += copies
        hom += copies == 2
        het += copies == 1
    return ac, an, hom, het


def expected_rows(found: Cohort, site: Site) -> dict[str, Row]:
    """Per label (``Total`` included), the row the dataset's answer must carry."""
    calls = found.genotypes[site]
    rows = {}
    for label in ("Total", *FULL_LABELS):
        ac, an, hom, het = _count(found.people, calls, label)
        rows[label] = Row(ac, an, hom, het, 0, ac / an if an else None)
    ac, an, _, _ = _count(found.people, calls, COUNTS_ONLY)
    rows[COUNTS_ONLY] = Row(ac, an, None, None, None, ac / an if an else None)
    ac, an, _, _ = _count(found.people, calls, AF_ONLY)
    rows[AF_ONLY] = Row(None, None, None, None, None, float(_af_text(ac, an)) if an else None)
    return rows


def _af_text(ac: int, an: int) -> str:
    return f"{ac / an:.6g}" if an else "."


_HEADER = """##fileformat=VCFv4.2
##reference=GRCh38
##contig=<ID=21,length=46709983>
"""


def _info_header() -> list[str]:
    lines = [
        '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">',
        '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">',
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
    ]
    for kind in ("Het", "Hom", "Hemi"):
        lines.append(f'##INFO=<ID=AC_{kind},Number=A,Type=Integer,Description="{kind} count">')
    for label in FULL_LABELS:
        lines += [
            f'##INFO=<ID=AC_{label},Number=A,Type=Integer,Description="AC {label}">',
            f'##INFO=<ID=AN_{label},Number=1,Type=Integer,Description="AN {label}">',
            f'##INFO=<ID=AF_{label},Number=A,Type=Float,Description="AF {label}">',
        ]
        for kind in ("Het", "Hom", "Hemi"):
            lines.append(
                f'##INFO=<ID=AC_{label}_{kind},Number=A,Type=Integer,Description="{kind} {label}">'
            )
    lines += [
        f'##INFO=<ID=AC_{COUNTS_ONLY},Number=A,Type=Integer,Description="AC {COUNTS_ONLY}">',
        f'##INFO=<ID=AN_{COUNTS_ONLY},Number=1,Type=Integer,Description="AN {COUNTS_ONLY}">',
        f'##INFO=<ID=AF_{AF_ONLY},Number=A,Type=Float,Description="AF {AF_ONLY}">',
    ]
    return lines


def write_gdi_vcf(path: Path, found: Cohort) -> Path:
    """Write the cohort's counts as a GDI sites VCF (no genotypes leave the cohort)."""
    lines = [_HEADER.rstrip("\n"), *_info_header()]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    for site in sorted(found.genotypes, key=lambda s: s.pos):
        calls = found.genotypes[site]
        info = []
        ac, an, hom, het = _count(found.people, calls, "Total")
        info += [f"AC={ac}", f"AN={an}", f"AF={_af_text(ac, an)}"]
        info += [f"AC_Het={het}", f"AC_Hom={hom}", "AC_Hemi=0"]
        for label in FULL_LABELS:
            ac, an, hom, het = _count(found.people, calls, label)
            info += [f"AC_{label}={ac}", f"AN_{label}={an}", f"AF_{label}={_af_text(ac, an)}"]
            info += [f"AC_{label}_Het={het}", f"AC_{label}_Hom={hom}", f"AC_{label}_Hemi=0"]
        ac, an, _, _ = _count(found.people, calls, COUNTS_ONLY)
        info += [f"AC_{COUNTS_ONLY}={ac}", f"AN_{COUNTS_ONLY}={an}"]
        ac, an, _, _ = _count(found.people, calls, AF_ONLY)
        info.append(f"AF_{AF_ONLY}={_af_text(ac, an)}")
        fields = [CHROM, str(site.pos), ".", site.ref, site.alt, ".", "PASS", ";".join(info)]
        lines.append("\t".join(fields))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
