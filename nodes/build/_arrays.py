"""One allele's values out of an INFO array, by the array's declared ``Number``.

``Number=A`` arrays hold one value per ALT allele, ``Number=R`` one per allele with
the reference first, ``Number=G`` one per genotype in VCF order (``0/0, 0/1, 1/1,
0/2, 1/2, 2/2, ...``; only a homozygous count can be read from it: the ``i/i``
entry). A record that ``vt decompose`` split keeps every array in the *original*
allele order and names the original alleles in ``OLD_MULTIALLELIC``
(``1:13404:G/A/T``), and ``vt normalize`` keeps the line's allele as it was before
normalizing in ``OLD_VARIANT`` (``1:13500:GA/TA``): :func:`allele_map` turns those
into the positions of the line's alleles in the original list. The value count is
never used to guess: an array of another length is a :class:`RecordError` naming the
key, what it holds and, when it looks split by vt without the tags, the tag it needs.
``Number=.`` (and a fixed number) is read as ``A`` when its length fits
(a documented tolerance).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "ALLELE_TAGS",
    "AlleleMap",
    "RecordError",
    "allele_map",
    "frequencies",
    "per_allele",
    "scalar",
]

#: INFO tags naming a split record's original alleles (``vt decompose``, ``vt normalize``),
#: in the order :func:`allele_map` takes their values.
ALLELE_TAGS = ("OLD_MULTIALLELIC", "OLD_VARIANT")


class RecordError(ValueError):
    """One record is bad; the builder names the file and record around the message."""


#: (number of ALT alleles in the original record, index of each line ALT among them).
AlleleMap = tuple[int, tuple[int, ...]]

_VT_HINT = (
    "; a record split by vt decompose needs OLD_MULTIALLELIC (or OLD_VARIANT from "
    "vt normalize) to say which value is its allele's"
)


def _alleles(tag: str, text: str) -> list[str]:
    """``REF`` and the ALTs of a vt tag value ``chrom:pos:REF/ALT[/ALT...]``."""
    parts = text.rsplit(":", 2)
    alleles = parts[-1].split("/") if len(parts) == 3 else []
    if len(alleles) < 2 or not all(alleles):
        raise RecordError(f"{tag}={text} is not chrom:pos:REF/ALT as vt writes it")
    return alleles


def allele_map(old_multiallelic: Any, old_variant: Any, alts: Sequence[str]) -> AlleleMap | None:
    """Where the line's ALT alleles sit in the original record (``None``: not split by vt)."""
    if isinstance(old_multiallelic, tuple):
        old_multiallelic = old_multiallelic[0] if old_multiallelic else None
    if not old_multiallelic:
        return None
    original = _alleles("OLD_MULTIALLELIC", old_multiallelic)[1:]
    line = list(alts)
    if old_variant:
        first = old_variant[0] if isinstance(old_variant, tuple) else old_variant
        line = _alleles("OLD_VARIANT", first)[1:]
        if len(line) != len(alts):
            raise RecordError(
                f"OLD_VARIANT={first} has {len(line)} ALT alleles, the line {len(alts)}"
            )
    picks = []
    for alt in line:
        if alt not in original:
            raise RecordError(
                f"OLD_MULTIALLELIC={old_multiallelic} does not list this record's ALT {alt}"
            )
        picks.append(original.index(alt))
    return len(original), tuple(picks)


def _noun(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def per_allele(
    key: str, value: Any, n_alt: int, number: str = "A", remap: AlleleMap | None = None
) -> Sequence[int]:
    """The per-ALT counts of ``key``'s value (``Number`` A, R, G for homozygous counts, .)."""
    values = value if isinstance(value, tuple) else (value,)
    picked = _pick(key, values, n_alt, number, remap)
    for v in picked:
        if type(v) is not int or v < 0:
            shown = "." if v is None else repr(v)
            raise RecordError(f"{key} has a missing or negative value {shown}")
    return picked


def _pick(
    key: str, values: tuple[Any, ...], n_alt: int, number: str, remap: AlleleMap | None
) -> Sequence[Any]:
    n = len(values)
    if number == "R":
        if n == n_alt + 1:
            return values[1:]
        if remap is not None and n == remap[0] + 1:
            return tuple(values[i + 1] for i in remap[1])
        raise RecordError(
            f"{key} (Number=R, reference first) has {_noun(n, 'value')} but the record has "
            f"{n_alt + 1} alleles" + (_VT_HINT if remap is None and n > n_alt + 1 else "")
        )
    if number == "G":
        total = (n_alt + 1) * (n_alt + 2) // 2
        if n == total:
            return tuple(values[(i + 1) * (i + 4) // 2] for i in range(n_alt))
        if remap is not None and n == (remap[0] + 1) * (remap[0] + 2) // 2:
            return tuple(values[(i + 1) * (i + 4) // 2] for i in remap[1])
        raise RecordError(
            f"{key} (Number=G, one value per genotype) has {_noun(n, 'value')} but "
            f"{_noun(n_alt, 'ALT allele')} make {total} genotypes"
        )
    if n == n_alt:
        return values
    if remap is not None and n == remap[0]:
        return tuple(values[i] for i in remap[1])
    declared = "" if number == "A" else f" (declared Number={number})"
    raise RecordError(
        f"{key}{declared} has {_noun(n, 'value')} but ALT has {_noun(n_alt, 'allele')}"
        + (_VT_HINT if remap is None and n > n_alt else "")
    )


def scalar(key: str, value: Any) -> int:
    """A ``Number=1`` count (AN)."""
    if isinstance(value, tuple):
        if len(value) != 1:
            shown = ",".join("." if v is None else str(v) for v in value)
            raise RecordError(f"{key} is declared Number=1 but has {len(value)} values ({shown})")
        value = value[0]
    if type(value) is not int or value < 0:
        shown = "." if value is None else repr(value)
        raise RecordError(f"{key} has a missing or negative value {shown}")
    return value


def frequencies(
    key: str, value: Any, n_alt: int, number: str = "A", remap: AlleleMap | None = None
) -> tuple[Sequence[float]]:
    """The per-ALT frequencies of an AF-only group's value."""
    values = value if isinstance(value, tuple) else (value,)
    picked = _pick(key, values, n_alt, number if number != "G" else "A", remap)
    for v in picked:
        if not isinstance(v, int | float) or isinstance(v, bool) or not 0 <= v <= 1:
            shown = "." if v is None else repr(v)
            raise RecordError(f"{key} has a missing or out-of-range frequency {shown}")
    return (tuple(float(v) for v in picked),)
