"""``GeneCatalog``: a gene query (symbol, previous symbol or alias, any case) to a span.

Names come from the shipped table (NCBI Gene nomenclature, HGNC symbols); coordinates
from one :class:`LocusTable` per assembly: the shipped GRCh38 table, or an operator's
GTF/BED file (``[genes]``), which also replaces the shipped one for GRCh38. An approved
symbol wins over a synonym; a synonym several genes share is refused with the genes
named. A gene file may use an older name than today's symbol (GENCODE 19 for GRCh37),
so a gene missing under its symbol is looked up under its synonyms too.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Mapping

from mesh.errors import InvalidArgumentError
from mesh.model.genes._model import GeneLoci, GeneName, LocusTable, MatchKind, ResolvedGene
from mesh.model.genome import CONTIG_CODES, Assembly

#: What a gene name may look like: HGNC symbols are letters, digits, ``-``, ``.``, ``@``,
#: ``_``, apostrophe; NCBI synonyms add a few more (``COLGALT 1``, ``p16(INK4)``).
_SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.@'/:()+*#;\[\]\-]{0,63}")
#: What a search box or ``query`` takes for a gene once it is no variant or region:
#: a letter first, symbol characters only (an rsID, ``rs`` and digits, is not one).
_GENE_QUERY = re.compile(r"(?!rs\d+$)[A-Za-z][A-Za-z0-9_.@'\-]{0,63}", re.IGNORECASE)
#: How many close symbols an unknown one is answered with.
SUGGESTIONS = 5


def looks_like_gene(text: str) -> bool:
    """Whether ``text`` (not a variant or region) should be asked as a gene."""
    return _GENE_QUERY.fullmatch(text.strip()) is not None


class GeneCatalog:
    """Resolves gene queries; one instance per process, built at start."""

    def __init__(
        self, names: Mapping[str, GeneName], tables: Mapping[Assembly, LocusTable]
    ) -> None:
        self.names = dict(names)
        self.tables = dict(tables)
        synonyms: dict[str, set[str]] = defaultdict(set)
        for gene in self.names.values():
            for synonym in gene.synonyms:
                synonyms[synonym.upper()].add(gene.symbol)
        self.synonyms = {k: sorted(v) for k, v in synonyms.items()}
        self._by_length: dict[int, list[str]] | None = None

    def resolve(self, query: str, assembly: Assembly, *, field: str = "gene") -> ResolvedGene:
        """The gene ``query`` names and its span in ``assembly``, or a 400 saying why not."""
        text = query.strip()
        if not _SYMBOL.fullmatch(text):
            raise InvalidArgumentError(
                field,
                f"{text[:80]!r} is not a gene symbol (HGNC symbols are letters, digits and "
                "-._@', e.g. PCSK9)",
                reason="INVALID_GENE",
            )
        key = text.upper()
        table = self.tables.get(assembly)
        gene = self.names.get(key)
        match = MatchKind.SYMBOL
        if gene is None and key in self.synonyms:
            symbols = self.synonyms[key]
            if len(symbols) > 1:
                raise InvalidArgumentError(
                    field,
                    f"{text} is a previous symbol or alias of {len(symbols)} genes: "
                    f"{', '.join(symbols)}; ask for one of them by its symbol",
                    reason="AMBIGUOUS_GENE",
                    metadata={"gene": text, "candidates": ",".join(symbols)},
                )
            gene, match = self.names[symbols[0].upper()], MatchKind.SYNONYM
        if gene is None:
            if table is not None and key in table.genes:
                found = table.genes[key]
                return _resolved(text, found.name, MatchKind.FILE_NAME, found, table)
            raise self._unknown(text, field)
        matched_name = gene.symbol if match == MatchKind.SYMBOL else _spelled(gene, key)
        if table is None:
            held = ", ".join(a.value for a in self.tables) or "none"
            raise InvalidArgumentError(
                field,
                f"gene {gene.symbol} has no coordinates for {assembly.value}: this gateway has "
                f"no gene table for {assembly.value} (gene tables: {held}; an operator adds one "
                f'with [genes] {assembly.value} = "genes.gtf.gz")',
                reason="GENE_NOT_IN_ASSEMBLY",
                metadata={"gene": gene.symbol, "assembly": assembly.value},
            )
        for name in (gene.symbol, *gene.synonyms):
            found_loci = table.genes.get(name.upper())
            if found_loci is not None:
                return _resolved(text, gene.symbol, match, found_loci, table, matched_name)
        raise InvalidArgumentError(
            field,
            f"gene {gene.symbol} has no coordinates for {assembly.value} in {table.source}",
            reason="GENE_NOT_IN_ASSEMBLY",
            metadata={"gene": gene.symbol, "assembly": assembly.value},
        )

    def closest(self, text: str, count: int = SUGGESTIONS) -> list[str]:
        """Approved symbols spelled most like ``text`` (difflib), best first."""
        if self._by_length is None:
            by_length: dict[int, list[str]] = defaultdict(list)
            for key in self.names:
                by_length[len(key)].append(key)
            self._by_length = dict(by_length)
        key = text.upper()
        # difflib's ratio is at most 2*min/(a+b): longer or shorter names cannot reach 0.6.
        low, high = (len(key) * 3 + 6) // 7, (len(key) * 7) // 3 + 1
        pool = [k for n in range(low, high + 1) for k in self._by_length.get(n, ())]
        return [self.names[k].symbol for k in difflib.get_close_matches(key, pool, n=count)]

    def _unknown(self, text: str, field: str) -> InvalidArgumentError:
        closest = self.closest(text)
        hint = f"; closest symbols: {', '.join(closest)}" if closest else ""
        return InvalidArgumentError(
            field,
            f"unknown gene symbol {text!r} (HGNC symbols, previous symbols and aliases are "
            f"known){hint}",
            reason="UNKNOWN_GENE",
            metadata={"gene": text, "closest": ",".join(closest)},
        )


def _spelled(gene: GeneName, key: str) -> str:
    """The synonym as the nomenclature spells it."""
    return next((s for s in gene.synonyms if s.upper() == key), key)


def _resolved(
    query: str,
    symbol: str,
    match: MatchKind,
    found: GeneLoci,
    table: LocusTable,
    matched_name: str | None = None,
) -> ResolvedGene:
    loci = sorted(found.loci, key=lambda r: (CONTIG_CODES.get(r.chromosome, 99), r.start))
    return ResolvedGene(
        query=query,
        symbol=symbol,
        match=match,
        matched_name=matched_name or found.name,
        gene_id=found.gene_id,
        assembly=table.assembly,
        region=loci[0],
        other_loci=tuple(loci[1:]),
        source=table.source,
    )
