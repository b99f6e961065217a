"""A reference FASTA for left-alignment and HGVS, addressed by canonical chromosome names.

Implements :class:`mesh.model.normalize.ReferenceSequence` over ``pysam.FastaFile`` (an
indexed FASTA, plain or bgzipped; pysam writes the ``.fai`` if it is missing). The
FASTA's own contig names (``chr1``, ``1``, ``NC_000001.11`` ...) are resolved to
canonical names once, when the file is opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pysam

from mesh.errors import IndexBuildError, InvalidArgumentError
from mesh.model.genome import Assembly, canonical_chromosome


class FastaReference:
    """Upper-case reference bases by canonical chromosome name, 0-based half-open."""

    def __init__(self, path: Path | str, assembly: Assembly) -> None:
        self.path = Path(path)
        try:
            self._fasta = pysam.FastaFile(str(self.path))
        except (OSError, ValueError) as exc:
            raise IndexBuildError(f"reference {self.path}: cannot be opened: {exc}") from exc
        self._names: dict[str, str] = {}
        for name in self._fasta.references:
            try:
                canonical = canonical_chromosome(name, assembly)
            except InvalidArgumentError:
                continue  # decoys, alts, unplaced contigs: never a canonical chromosome
            self._names.setdefault(canonical, name)
        if not self._names:
            raise IndexBuildError(
                f"reference {self.path}: no contig names a chromosome of {assembly}"
            )

    def fetch(self, chromosome: str, start: int, end: int) -> str:
        """Return the bases of ``[start, end)``; ``""`` for a chromosome not in the FASTA."""
        name = self._names.get(chromosome)
        if name is None or end <= start:
            return ""
        return str(self._fasta.fetch(name, max(0, start), end)).upper()

    def close(self) -> None:
        """Release the FASTA handle."""
        self._fasta.close()

    def __enter__(self) -> FastaReference:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_references(paths: Mapping[Assembly, Path]) -> dict[Assembly, FastaReference]:
    """Open every configured ``[references]`` FASTA, one per assembly."""
    return {assembly: FastaReference(path, assembly) for assembly, path in paths.items()}
