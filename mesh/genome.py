"""Assemblies and their contigs: canonical names, sort codes, lengths and aliases.

Inside allelemesh a chromosome is always one of the canonical names ``1``..``22``,
``X``, ``Y``, ``MT``. Every alias a user or a file may use (``chr1``, ``chrM``, ``23``,
RefSeq ``NC_`` accessions of each assembly) is resolved by :func:`canonical_chromosome`
at the edge, and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum

from mesh.v1 import allele_pb2


class Assembly(StrEnum):
    """A reference assembly, named as in VCF headers and Beacon ``assemblyId``."""

    GRCH37 = "GRCh37"
    GRCH38 = "GRCh38"

    def to_proto(self) -> int:
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
            from mesh.errors import InvalidArgumentError

            raise InvalidArgumentError(
                "assembly", f"unknown assembly enum value {value}", reason="UNKNOWN_ASSEMBLY"
            ) from None


_TO_PROTO = {Assembly.GRCH37: allele_pb2.ASSEMBLY_GRCH37, Assembly.GRCH38: allele_pb2.ASSEMBLY_GRCH38}
_FROM_PROTO = {v: k for k, v in _TO_PROTO.items()}

#: Canonical chromosome names in genomic sort order.
CHROMOSOMES: tuple[str, ...] = (*(str(i) for i in range(1, 23)), "X", "Y", "MT")

#: One-byte sort code of each canonical chromosome (1-based, genomic order).
CONTIG_CODES: dict[str, int] = {name: i for i, name in enumerate(CHROMOSOMES, start=1)}
CONTIG_NAMES: dict[int, str] = {i: name for name, i in CONTIG_CODES.items()}
