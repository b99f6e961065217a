"""Assemblies and their contigs: canonical names, sort codes, lengths and aliases.

Inside allelemesh a chromosome is always one of the canonical names ``1``..``22``,
``X``, ``Y``, ``MT``. Every alias a user or a file may use (``chr1``, ``chrM``, ``23``,
RefSeq ``NC_`` accessions of each assembly) is resolved by :func:`canonical_chromosome`
at the edge, and nowhere else.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources

from mesh.errors import InvalidArgumentError, NotFoundError
from mesh.v1 import allele_pb2


class Assembly(StrEnum):
    """A reference assembly, named as in VCF headers and Beacon ``assemblyId``."""

    GRCH37 = "GRCh37"
    GRCH38 = "GRCh38"

    def to_proto(self) -> allele_pb2.Assembly:
        """Return the ``mesh.v1.Assembly`` enum value."""
        return _TO_PROTO[self]

    @classmethod
    def from_proto(cls, value: int, *, default: Assembly | None = None) -> Assembly:
        """Return the assembly for a ``mesh.v1.Assembly`` value (``default`` for UNSPECIFIED)."""
        if value == allele_pb2.ASSEMBLY_UNSPECIFIED and default is not None:
            return default
        try:
            return _FROM_PROTO[value]
        except KeyError:
            raise InvalidArgumentError(
                "assembly", f"unknown assembly enum value {value}", reason="UNKNOWN_ASSEMBLY"
            ) from None


_TO_PROTO = {
    Assembly.GRCH37: allele_pb2.ASSEMBLY_GRCH37,
    Assembly.GRCH38: allele_pb2.ASSEMBLY_GRCH38,
}
_FROM_PROTO: dict[int, Assembly] = {v: k for k, v in _TO_PROTO.items()}

#: Canonical chromosome names in genomic sort order.
CHROMOSOMES: tuple[str, ...] = (*(str(i) for i in range(1, 23)), "X", "Y", "MT")

#: One-byte sort code of each canonical chromosome (1-based, genomic order).
CONTIG_CODES: dict[str, int] = {name: i for i, name in enumerate(CHROMOSOMES, start=1)}
CONTIG_NAMES: dict[int, str] = {i: name for name, i in CONTIG_CODES.items()}


@dataclass(frozen=True, slots=True)
class Contig:
    """One canonical chromosome of one assembly."""

    name: str
    length: int
    refseq: str


#: The alias table (README "Chromosome names"). ``chr`` is stripped before this lookup,
#: so ``chr1``/``chrX``/``chrM``/``chrMT`` resolve too.
_ALIASES: dict[str, str] = {
    **{name: name for name in CHROMOSOMES},
    "M": "MT",
}
#: PLINK's numeric codes, accepted bare only: ``chr23`` is no spelling any reference
#: uses, so it is more likely a mistake than chrX and is refused.
_NUMERIC_ALIASES: dict[str, str] = {"23": "X", "24": "Y"}
_ACCESSION = re.compile(r"NC_(\d{6})(?:\.(\d+))?")
_ACCEPTED = "1..22, X, Y, MT (or chr1, chrX, chrM, 23, 24, or a RefSeq NC_ accession)"


@functools.cache
def _contigs() -> dict[Assembly, dict[str, Contig]]:
    """Load ``mesh/data/contigs.json`` once."""
    raw = json.loads(resources.files("mesh").joinpath("data/contigs.json").read_text("utf-8"))
    table: dict[Assembly, dict[str, Contig]] = {}
    for assembly in Assembly:
        rows = raw[assembly.value]
        table[assembly] = {
            name: Contig(name, int(rows[name]["length"]), str(rows[name]["refseq"]))
            for name in CHROMOSOMES
        }
    return table


@functools.cache
def _accessions() -> dict[str, dict[Assembly, str]]:
    """Map each RefSeq accession, with and without version, to its chromosome per assembly."""
    table: dict[str, dict[Assembly, str]] = {}
    for assembly, contigs in _contigs().items():
        for entry in contigs.values():
            table.setdefault(entry.refseq, {})[assembly] = entry.name
            # An unversioned accession names the same chromosome in both assemblies.
            table.setdefault(entry.refseq.split(".")[0], {})[assembly] = entry.name
    return table


def _unknown(name: str, detail: str = "") -> InvalidArgumentError:
    message = f"unknown chromosome {name!r}{detail}; expected {_ACCEPTED}"
    return InvalidArgumentError("chromosome", message, reason="UNKNOWN_CHROMOSOME")


def canonical_chromosome(name: str, assembly: Assembly | None = None) -> str:
    """Resolve an accepted alias to its canonical name: ``1``..``22``, ``X``, ``Y`` or ``MT``.

    A versioned RefSeq accession is checked against ``assembly`` when it is given:
    one of the other assembly would silently shift every coordinate, so it is an error.
    """
    text = name.strip().upper()
    if (canonical := _NUMERIC_ALIASES.get(text)) is not None:
        return canonical
    if text.startswith("CHR"):
        text = text[3:]
        if text in _NUMERIC_ALIASES:
            raise _unknown(
                name,
                f" ({text} is PLINK's code for chromosome "
                f"{_NUMERIC_ALIASES[text]}, accepted bare, never chr-prefixed)",
            )
    if (canonical := _ALIASES.get(text)) is not None:
        return canonical
    if _ACCESSION.fullmatch(text) is None:
        raise _unknown(name)
    owners = _accessions().get(text)
    if owners is None:
        raise _unknown(name, " (not a chromosome accession of GRCh37 or GRCh38)")
    if assembly is None or assembly in owners:
        return next(iter(owners.values()))
    other, chromosome = next(iter(owners.items()))
    ours = _contigs()[assembly][chromosome].refseq
    raise InvalidArgumentError(
        "chromosome",
        f"{text} is chromosome {chromosome} of {other}, but the request is in {assembly} "
        f"(whose chromosome {chromosome} is {ours})",
        reason="ASSEMBLY_MISMATCH",
    )


def assembly_not_held(
    assembly: Assembly, held: Iterable[int | str], where: str = "in this mesh"
) -> NotFoundError:
    """``no dataset in this mesh holds GRCh37 (assemblies here: GRCh38)``: never an empty answer.

    ``held`` are the assemblies there are (names or ``mesh.v1.Assembly`` values).
    """
    names = {str(_FROM_PROTO.get(h, h)) if isinstance(h, int) else h for h in held if h}
    here = ", ".join(sorted(names)) or "none"
    return NotFoundError(
        f"no dataset {where} holds {assembly} (assemblies here: {here})",
        reason="ASSEMBLY_NOT_HELD",
        metadata={"assembly": assembly.value, "assemblies": here},
    )


def contig(chromosome: str, assembly: Assembly) -> Contig:
    """Return the contig an alias names in ``assembly``."""
    return _contigs()[assembly][canonical_chromosome(chromosome, assembly)]


def contig_length(chromosome: str, assembly: Assembly) -> int:
    """Return the length in bp of a chromosome (any accepted alias) in ``assembly``."""
    return contig(chromosome, assembly).length


def refseq_accession(chromosome: str, assembly: Assembly) -> str:
    """Return the versioned RefSeq accession of a chromosome in ``assembly``."""
    return contig(chromosome, assembly).refseq
