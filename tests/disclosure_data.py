"""GDI-labelled sites records made from groups of individuals, for disclosure tests.

Every record's rows are sums over (country, sex) groups of individuals (some outside
every labelled country, some of unknown sex, so partitions have remainders), with
small counts so that floors bite. The partitions are stated from how the rows were
made, for :class:`tests.disclosure_oracle.ReleaseJudge`.
"""

from __future__ import annotations

import random

from tests.vcf_factory import Counts, GroupCounts, SiteRecord

COUNTRIES = ("FR", "SE")
LABELS = ("M", "F", "FR", "SE", "FR_M", "FR_F", "SE_M", "SE_F")
PARTITIONS = [
    ("Total", ["M", "F"]),
    ("Total", ["FR", "SE"]),
    ("FR", ["FR_M", "FR_F"]),
    ("SE", ["SE_M", "SE_F"]),
    ("M", ["FR_M", "SE_M"]),
    ("F", ["FR_F", "SE_F"]),
]
#: (chromosome, position, ref, alt)
Variant = tuple[str, int, str, str]


def _group(rng: random.Random, size: int) -> Counts:
    n = rng.randrange(size + 1)
    hom = rng.randrange(n + 1) if rng.random() < 0.3 else 0
    het = rng.randrange(n - hom + 1) if rng.random() < 0.8 else 0
    return (2 * hom + het, 2 * n, hom, het, 0)


def make_records(
    rng: random.Random, count: int, *, start: int = 1_000_000, step: int = 100
) -> tuple[list[SiteRecord], dict[Variant, dict[str, Counts]]]:
    """``count`` biallelic SNVs on chromosome 1 and, per variant, its rows by label."""
    records, raw = [], {}
    for i in range(count):
        size = rng.choice((3, 8, 25))
        groups = {(g, s): _group(rng, size) for g in (*COUNTRIES, "other") for s in ("M", "F", "U")}

        def total(pick, groups=groups) -> Counts:
            rows = [c for key, c in groups.items() if pick(*key)]
            return tuple(sum(c[k] for c in rows) for k in range(5))  # type: ignore[return-value]

        rows = {"Total": total(lambda g, s: True)}
        rows["M"] = total(lambda g, s: s == "M")
        rows["F"] = total(lambda g, s: s == "F")
        for c in COUNTRIES:
            rows[c] = total(lambda g, s, c=c: g == c)
            for sex in ("M", "F"):
                rows[f"{c}_{sex}"] = total(lambda g, s, c=c, sex=sex: g == c and s == sex)
        if rows["Total"][0] == 0:  # a record carries the allele: add one male carrier
            for k in ("Total", "M"):  # of no labelled country (the remainders take him)
                ac, an, hom, het, hemi = rows[k]
                rows[k] = (ac + 1, an + 2, hom, het + 1, hemi)
        ref = rng.choice("ACGT")
        alt = rng.choice([b for b in "ACGT" if b != ref])
        pos = start + i * step

        def group_counts(c: Counts) -> GroupCounts:
            return GroupCounts(an=c[1], ac=[c[0]], hom=[c[2]])

        records.append(
            SiteRecord(
                "1",
                pos,
                ref,
                [alt],
                total=group_counts(rows["Total"]),
                populations={k: group_counts(rows[k]) for k in LABELS},
            )
        )
        raw[("1", pos, ref, alt)] = rows
    return records, raw
