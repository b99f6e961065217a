"""The variant model shared by nodes and gateways: one variant, one key."""

from __future__ import annotations

from dataclasses import dataclass

from mesh.genome import CONTIG_CODES


@dataclass(frozen=True, slots=True)
class VariantKey:
    """One allele at one position, canonical chromosome, 1-based position, upper-case bases."""

    chromosome: str
    position: int
    ref: str
    alt: str

    def sort_key(self) -> tuple[int, int, str, str]:
        """Genomic order: contig code, position, then alleles."""
        return (CONTIG_CODES[self.chromosome], self.position, self.ref, self.alt)

    def __str__(self) -> str:
        return f"{self.chromosome}-{self.position}-{self.ref}-{self.alt}"


@dataclass(frozen=True, slots=True)
class RegionKey:
    """A 1-based, inclusive interval on a canonical chromosome."""

    chromosome: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.chromosome}:{self.start}-{self.end}"
