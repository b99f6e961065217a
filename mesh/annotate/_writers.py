"""Where annotated records go: a VCF (bgzip + tabix for ``.gz``) or a TSV."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

import pysam

from mesh.annotate._columns import Column, Value
from mesh.errors import InvalidArgumentError


class Writer(Protocol):
    """Takes each input record, in order, with one value list per ALT (``None``: none)."""

    def write(self, record: pysam.VariantRecord, values: Sequence[Sequence[Value] | None]) -> None:
        """Write ``record`` with its new fields."""
        ...

    def close(self) -> None:
        """Flush, close and (VCF ``.gz``) index."""
        ...


class VcfWriter:
    """The input header (pysam's) plus one ``##INFO`` line per column; records unchanged.

    Each record is written as htslib formats it against the *input* header
    (``str(record)``, exactly what ``bcftools view`` prints) with the new fields appended
    to INFO: re-encoding records under a second header fails in htslib for symbolic
    ALTs (``<DEL>`` without a declared ``END``), and text is also the cheaper path.
    ``.gz`` outputs are BGZF (pysam) and get a tabix index at the end.
    """

    def __init__(
        self, source: pysam.VariantFile, columns: Sequence[Column], out: Path | None
    ) -> None:
        header = source.header.copy()
        for column in columns:
            if column.key in source.header.info:
                raise InvalidArgumentError(
                    "input",
                    f"the input already has INFO/{column.key}; remove it first "
                    f"(bcftools annotate -x INFO/{column.key})",
                )
            header.add_meta("INFO", items=list(column.header.items()))
        self.columns = columns
        self.path = out
        self.compressed = out is not None and out.name.endswith(".gz")
        self._binary: Any = None  # pysam.BGZFile (untyped)
        self._text: TextIO | None = None
        if self.compressed:
            self._binary = pysam.BGZFile(str(out), "wb", None)
        else:
            self._text = out.open("w", encoding="utf-8") if out else sys.stdout
        self._emit(str(header))

    def _emit(self, text: str) -> None:
        if self._binary is not None:
            self._binary.write(text.encode())
        elif self._text is not None:
            self._text.write(text)

    def write(self, record: pysam.VariantRecord, values: Sequence[Sequence[Value] | None]) -> None:
        """Write ``record`` with every column that has at least one known value."""
        line = str(record)
        added = []
        for j, column in enumerate(self.columns):
            per_alt = [None if v is None else v[j] for v in values]
            if any(v is not None for v in per_alt):
                added.append(f"{column.key}={','.join(_cell(v) for v in per_alt)}")
        if added:
            parts = line.rstrip("\n").split("\t", 8)
            info = ";".join(added)
            parts[7] = info if parts[7] == "." else f"{parts[7]};{info}"
            line = "\t".join(parts) + "\n"
        self._emit(line)

    def close(self) -> None:
        """Close; a ``.gz`` output gets its tabix index (``.tbi``)."""
        if self._binary is not None:
            self._binary.close()
        elif self._text is not None:
            if self._text is sys.stdout:
                self._text.flush()
            else:
                self._text.close()
        if self.compressed and self.path is not None:
            try:
                pysam.tabix_index(str(self.path), preset="vcf", force=True)
            except (OSError, ValueError) as exc:
                raise InvalidArgumentError(
                    "input",
                    f"{self.path} is written but cannot be indexed (is the input sorted?): {exc}",
                ) from None


class TsvWriter:
    """One line per ALT: CHROM, POS, ID, REF, ALT, then every column (``.`` if unknown)."""

    def __init__(self, columns: Sequence[Column], out: Path | None) -> None:
        self.columns = columns
        self._stream: TextIO = out.open("w", encoding="utf-8") if out else sys.stdout
        heads = ["CHROM", "POS", "ID", "REF", "ALT", *(c.key for c in columns)]
        self._stream.write("\t".join(heads) + "\n")

    def write(self, record: pysam.VariantRecord, values: Sequence[Sequence[Value] | None]) -> None:
        """Write one line per ALT of ``record``."""
        lead = f"{record.chrom}\t{record.pos}\t{record.id or '.'}\t{record.ref}\t"
        for alt, per_alt in zip(record.alts or (), values, strict=True):
            cells = ["." if per_alt is None or v is None else _text(v) for v in per_alt or ()]
            if per_alt is None:
                cells = ["."] * len(self.columns)
            self._stream.write(lead + alt + "\t" + "\t".join(cells) + "\n")

    def close(self) -> None:
        """Flush (and close a file)."""
        if self._stream is sys.stdout:
            self._stream.flush()  # not ours to close
        else:
            self._stream.close()


def _text(value: int | float) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _cell(value: Value) -> str:
    return "." if value is None else _text(value)
