"""Write the small sample VCFs that ``make demo`` indexes (run once; outputs are committed).

Three countries (NO, FI, LU) with GDI-style INFO counts (``AC_NO``, ``AC_NO_M``,
``AC_NO_F`` ...), a shared set of sites so pooled counts are meaningful, multi-allelic
sites, indels, and chrX sites with hemizygous males. Seeded: the output never changes.
"""

from __future__ import annotations

import random
from pathlib import Path

COUNTRIES = {"NO": (1200, 11), "FI": (900, 22), "LU": (300, 33)}  # samples, seed
CONTIGS = {"1": 248956422, "2": 242193529, "17": 83257441, "X": 156040895}
SHARED_SITES = 60
#: Sites written with a dbSNP id (ID column), counted from a generator of their own so
#: every other site keeps its counts: PCSK9 p.R46L, rs11591147 (GRCh38 1:55039974 G>T).
IDS = {("1", 55039974): "rs11591147"}
OWN_SITES = 40
BASES = "ACGT"


def _sites(rng: random.Random, count: int) -> list[tuple[str, int, str, list[str]]]:
    sites = []
    for _ in range(count):
        chrom = rng.choice(list(CONTIGS))
        pos = rng.randrange(1_000_000, 60_000_000)
        ref = rng.choice(BASES)
        kind = rng.random()
        if kind < 0.6:
            alts = [rng.choice([b for b in BASES if b != ref])]
        elif kind < 0.75:
            alts = rng.sample([b for b in BASES if b != ref], 2)  # multi-allelic SNV
        elif kind < 0.9:
            alts = [ref + "".join(rng.choice(BASES) for _ in range(rng.randint(1, 4)))]  # insertion
        else:
            ref = ref + "".join(rng.choice(BASES) for _ in range(rng.randint(1, 4)))  # deletion
            alts = [ref[0]]
        sites.append((chrom, pos, ref, alts))
    return sites


def _counts(rng: random.Random, samples: int, n_alts: int, chrom: str) -> dict[str, list[int]]:
    """Per sex: AN, then per alt AC, nhomalt, nhemi (males on X are haploid)."""
    males = samples // 2
    females = samples - males
    info: dict[str, list[int]] = {}
    for sex, n in (("M", males), ("F", females)):
        haploid = chrom == "X" and sex == "M"
        called = n - rng.randint(0, n // 50)
        an = called if haploid else 2 * called
        acs, homs, hemis = [], [], []
        remaining = called
        for _ in range(n_alts):
            freq = rng.choice([0.001, 0.01, 0.05, 0.2, 0.4])
            if haploid:
                hemi = min(remaining, max(0, round(called * freq * rng.uniform(0.5, 1.5))))
                remaining -= hemi
                acs.append(hemi)
                homs.append(0)
                hemis.append(hemi)
            else:
                hom = min(remaining, round(called * freq * freq))
                remaining -= hom
                het = min(remaining, round(called * 2 * freq * (1 - freq)))
                remaining -= het
                acs.append(2 * hom + het)
                homs.append(hom)
                hemis.append(0)
        info[f"AN_{sex}"] = [an]
        info[f"AC_{sex}"] = acs
        info[f"nhomalt_{sex}"] = homs
        info[f"nhemi_{sex}"] = hemis
    return info


def write_country(
    path: Path,
    cc: str,
    samples: int,
    sites: list[tuple[str, int, str, list[str]]],
    rng: random.Random,
) -> None:
    """Write one country's sites VCF."""
    header = [
        "##fileformat=VCFv4.3",
        f"##source=allelemesh sample data for {cc} (synthetic)",
        *(f"##contig=<ID=chr{c},length={n},assembly=GRCh38>" for c, n in CONTIGS.items()),
        '##FILTER=<ID=PASS,Description="All filters passed">',
        '##FILTER=<ID=AC0,Description="Allele count is zero after filtering">',
    ]
    labels = ["", f"_{cc}", f"_{cc}_M", f"_{cc}_F"]
    for label in labels:
        who = f"population {label[1:]}" if label else "all samples"
        header += [
            f"##INFO=<ID=AC{label},Number=A,Type=Integer,"
            f'Description="Alternate allele count, {who}">',
            f'##INFO=<ID=AN{label},Number=1,Type=Integer,Description="Called alleles, {who}">',
            f'##INFO=<ID=nhomalt{label},Number=A,Type=Integer,Description="Homozygous, {who}">',
            f'##INFO=<ID=nhemi{label},Number=A,Type=Integer,Description="Hemizygous, {who}">',
        ]
    header.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    lines = []
    order = {c: i for i, c in enumerate(CONTIGS)}
    for chrom, pos, ref, alts in sorted(sites, key=lambda s: (order[s[0]], s[1])):
        rsid = IDS.get((chrom, pos), ".")
        own = random.Random(f"{cc}-{rsid}") if rsid != "." else rng
        c = _counts(own, samples, len(alts), chrom)
        total = {
            "AN": [c["AN_M"][0] + c["AN_F"][0]],
            "AC": [m + f for m, f in zip(c["AC_M"], c["AC_F"], strict=True)],
            "nhomalt": [m + f for m, f in zip(c["nhomalt_M"], c["nhomalt_F"], strict=True)],
            "nhemi": [m + f for m, f in zip(c["nhemi_M"], c["nhemi_F"], strict=True)],
        }
        fields = []
        for label, source in (("", total), (f"_{cc}", total)):
            for key in ("AC", "AN", "nhomalt", "nhemi"):
                fields.append(f"{key}{label}=" + ",".join(map(str, source[key])))
        for sex in ("M", "F"):
            for key in ("AC", "AN", "nhomalt", "nhemi"):
                fields.append(f"{key}_{cc}_{sex}=" + ",".join(map(str, c[f"{key}_{sex}"])))
        filt = "AC0" if sum(total["AC"]) == 0 else "PASS"
        lines.append(
            f"chr{chrom}\t{pos}\t{rsid}\t{ref}\t{','.join(alts)}\t.\t{filt}\t{';'.join(fields)}"
        )
    path.write_text("\n".join(header + lines) + "\n")


def main() -> None:
    """Write samples/{no,fi,lu}.vcf."""
    out = Path(__file__).resolve().parent.parent / "samples"
    out.mkdir(exist_ok=True)
    shared = _sites(random.Random(2026), SHARED_SITES)
    # A well-known PCSK9 indel, present in every country, and PCSK9's rs11591147.
    shared.append(("1", 55051215, "G", ["GA"]))
    shared.append(("1", 55039974, "G", ["T"]))
    for cc, (samples, seed) in COUNTRIES.items():
        rng = random.Random(seed)
        sites = {(s[0], s[1]): s for s in shared + _sites(rng, OWN_SITES)}
        write_country(out / f"{cc.lower()}.vcf", cc, samples, list(sites.values()), rng)


if __name__ == "__main__":
    main()
