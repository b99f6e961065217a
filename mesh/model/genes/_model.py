"""What a gene is to allelemesh: a name record, its loci per assembly, a resolution."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from mesh.model.genome import Assembly
from mesh.model.variants import RegionKey


class MatchKind(StrEnum):
    """How a query reached the gene it names."""

    #: The approved (official) symbol, in any case.
    SYMBOL = "symbol"
    #: A previous symbol or an alias (NCBI Gene synonyms, which hold both).
    SYNONYM = "synonym"
    #: A name only an operator's gene file knows (e.g. its gene id).
    FILE_NAME = "file name"


@dataclass(frozen=True, slots=True)
class GeneName:
    """A gene of the nomenclature: approved symbol, NCBI Gene id, synonyms."""

    symbol: str
    gene_id: str
    synonyms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GeneLoci:
    """Where one named gene lies in one assembly (one span per chromosome)."""

    name: str
    gene_id: str
    loci: tuple[RegionKey, ...]


@dataclass
class LocusTable:
    """Gene spans of one assembly, by upper-cased name, and where they come from."""

    assembly: Assembly
    source: str
    genes: dict[str, GeneLoci] = field(default_factory=dict)

    def add(self, name: str, gene_id: str, locus: RegionKey) -> None:
        """Add (or widen, on the same chromosome) one gene's span."""
        key = name.upper()
        found = self.genes.get(key)
        if found is None:
            self.genes[key] = GeneLoci(name, gene_id, (locus,))
            return
        loci = list(found.loci)
        for i, known in enumerate(loci):
            if known.chromosome == locus.chromosome:
                loci[i] = RegionKey(
                    known.chromosome, min(known.start, locus.start), max(known.end, locus.end)
                )
                break
        else:
            loci.append(locus)
        self.genes[key] = GeneLoci(found.name, found.gene_id, tuple(loci))


@dataclass(frozen=True)
class ResolvedGene:
    """A gene query answered: which gene, how the name matched, and its span."""

    query: str
    symbol: str
    match: MatchKind
    #: The name that matched (the symbol itself, a synonym, or a file's name).
    matched_name: str
    gene_id: str
    assembly: Assembly
    #: The span searched: the gene's first locus in genomic order (X before Y).
    region: RegionKey
    #: Further loci (a pseudoautosomal gene's copy on Y), not searched.
    other_loci: tuple[RegionKey, ...]
    #: Where the coordinates come from (the table's provenance).
    source: str

    @property
    def resolution(self) -> str:
        """One sentence saying how the query became this gene."""
        if self.match == MatchKind.SYMBOL:
            how = f"{self.symbol} is the approved symbol"
        elif self.match == MatchKind.SYNONYM:
            how = f"{self.matched_name} is a previous symbol or alias of {self.symbol}"
        else:
            how = f"{self.matched_name} names {self.symbol} in the gene file"
        return f"{how}; {self.assembly.value} span {self.region} from {self.source}"
