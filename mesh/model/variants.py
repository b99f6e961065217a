"""The variant model shared by nodes and gateways: one variant, one key.

:class:`VariantKey` and :class:`RegionKey` are only ever built from validated input:
:func:`validate_variant` / :func:`validate_region` (or their ``*_from_proto`` forms)
make the chromosome canonical, the bases upper-case, and check every coordinate
against the assembly, raising :class:`~mesh.errors.InvalidArgumentError` that names
the request field at fault.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.errors import InvalidArgumentError
from mesh.model.genome import CHROMOSOMES, Assembly, canonical_chromosome, contig_length
from mesh.v1 import allele_pb2


@dataclass(frozen=True, slots=True)
class VariantKey:
    """One allele at one position, canonical chromosome, 1-based position, upper-case bases."""

    chromosome: str
    position: int
    ref: str
    alt: str

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


#: The bases of a canonical allele (upper case; anything else is validated first).
CANONICAL_BASES = "ACGTN"
# Checked before upper-casing: str.upper() maps some non-ASCII letters onto ASCII ones.
_BASES = frozenset("ACGTNacgtn")


def _field(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _bases(value: str, field: str) -> str:
    """Return ``value`` upper-cased, or raise naming the first base that is not ACGTN."""
    what = field.rsplit(".", 1)[-1].replace("_", " ")
    if not value:
        raise InvalidArgumentError(
            field, f"{what} are empty; give at least one base (A, C, G, T, N)", reason="EMPTY_BASES"
        )
    for offset, base in enumerate(value):
        if base not in _BASES:
            # Symbolic alleles (<DEL>, *) cannot be one key across countries: say so.
            hint = (
                " (symbolic alleles such as <DEL> or * are not supported)" if base in "<>*." else ""
            )
            raise InvalidArgumentError(
                field,
                f"{what} {_shorten(value)!r} contain {base!r} at offset {offset}; "
                f"only the bases A, C, G, T and N are allowed{hint}",
                reason="INVALID_BASES",
            )
    return value.upper()


def _shorten(text: str, limit: int = 40) -> str:
    """Keep messages readable when someone sends a 10 kb allele."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _chromosome(chromosome: str, assembly: Assembly, field: str) -> str:
    try:
        return canonical_chromosome(chromosome, assembly)
    except InvalidArgumentError as error:
        raise InvalidArgumentError(field, error.message, reason=error.reason) from None


def _check_position(
    position: int, last: int, *, chromosome: str, assembly: Assembly, field: str
) -> None:
    """Raise unless ``position``..``last`` (1-based, inclusive) lies on the chromosome."""
    what = field.rsplit(".", 1)[-1]
    if position < 1:
        raise InvalidArgumentError(
            field,
            f"{what} {position} is before the start of chromosome {chromosome}; "
            "coordinates are 1-based, so the first base is 1",
            reason="POSITION_OUT_OF_RANGE",
        )
    length = contig_length(chromosome, assembly)
    if position > length:
        raise InvalidArgumentError(
            field,
            f"{what} {position} is beyond the end of chromosome {chromosome} "
            f"({length} bp in {assembly})",
            reason="POSITION_OUT_OF_RANGE",
        )
    if last > length:
        raise InvalidArgumentError(
            field,
            f"the reference bases at {what} {position} run to {last}, beyond the end of "
            f"chromosome {chromosome} ({length} bp in {assembly})",
            reason="POSITION_OUT_OF_RANGE",
        )


def validate_variant(
    chromosome: str,
    position: int,
    ref: str,
    alt: str,
    assembly: Assembly,
    *,
    field_prefix: str = "",
) -> VariantKey:
    """Return the :class:`VariantKey` of a requested variant, or raise naming the bad field.

    The chromosome is made canonical and bases upper-case; nothing is trimmed or
    shifted here (that is :func:`mesh.model.normalize.normalize`).
    """
    name = _chromosome(chromosome, assembly, _field(field_prefix, "chromosome"))
    ref_bases = _bases(ref, _field(field_prefix, "reference_bases"))
    alt_bases = _bases(alt, _field(field_prefix, "alternate_bases"))
    if ref_bases == alt_bases:
        raise InvalidArgumentError(
            _field(field_prefix, "alternate_bases"),
            f"alternate bases equal the reference bases ({_shorten(ref_bases)}): not a variant",
            reason="SAME_ALLELES",
        )
    last = position + len(ref_bases) - 1
    field = _field(field_prefix, "position")
    _check_position(position, last, chromosome=name, assembly=assembly, field=field)
    return VariantKey(name, position, ref_bases, alt_bases)


_CHROMOSOME_TABLES: dict[Assembly, dict[str, tuple[str, int]]] = {}


def chromosome_table(assembly: Assembly) -> dict[str, tuple[str, int]]:
    """Common chromosome spellings -> ``(canonical name, length)`` in ``assembly``.

    A hot-path table: the canonical names and their ``chr``-prefixed forms (``chr1``,
    ``chrX``, ``chrM``, ``chrMT``), each resolving as :func:`canonical_chromosome` would.
    Any other alias is left to :func:`validate_variant`.
    """
    table = _CHROMOSOME_TABLES.get(assembly)
    if table is None:
        table = {}
        for name in CHROMOSOMES:
            entry = (name, contig_length(name, assembly))
            for prefix in ("", "chr", "Chr", "CHR"):
                table[prefix + name] = entry
                if name == "MT":
                    table[prefix + "M"] = entry
        _CHROMOSOME_TABLES[assembly] = table
    return table


def canonical_variant(
    chromosome: str, position: int, ref: str, alt: str, assembly: Assembly
) -> VariantKey | None:
    """The key of a variant that is already valid with upper-case bases, else ``None``.

    The hot path of lookups: most requests name canonical chromosomes (or ``chr1``
    style ones) and upper-case bases, so this answers with a few dict and string
    operations and leaves other aliases, lower case and every error (with its message)
    to :func:`validate_variant`.
    """
    entry = chromosome_table(assembly).get(chromosome)
    if (
        entry is None
        or not ref
        or not alt
        or ref == alt
        or position < 1
        or position + len(ref) - 1 > entry[1]
        # strip() leaves "" only when every character is a base letter
        or ref.strip(CANONICAL_BASES)
        or alt.strip(CANONICAL_BASES)
    ):
        return None
    return VariantKey(entry[0], position, ref, alt)


def validate_region(
    chromosome: str,
    start: int,
    end: int,
    assembly: Assembly,
    *,
    max_span: int | None = None,
    field_prefix: str = "",
) -> RegionKey:
    """Return the :class:`RegionKey` of a 1-based inclusive region, or raise naming the field."""
    name = _chromosome(chromosome, assembly, _field(field_prefix, "chromosome"))
    field = _field(field_prefix, "start")
    _check_position(start, start, chromosome=name, assembly=assembly, field=field)
    if end < start:
        raise InvalidArgumentError(
            _field(field_prefix, "end"),
            f"end {end} is before start {start}; a region is 1-based and inclusive, "
            "so a single base has start == end",
            reason="INVALID_REGION",
        )
    field = _field(field_prefix, "end")
    _check_position(end, end, chromosome=name, assembly=assembly, field=field)
    span = end - start + 1
    if max_span is not None and span > max_span:
        raise InvalidArgumentError(
            _field(field_prefix, "end"),
            f"region {name}:{start}-{end} spans {span} bp; at most {max_span} bp may be searched "
            "at once",
            reason="REGION_TOO_LARGE",
        )
    return RegionKey(name, start, end)


def variant_from_proto(
    msg: allele_pb2.Variant, assembly: Assembly, *, field_prefix: str = "variant"
) -> VariantKey:
    """Validate a ``mesh.v1.Variant``; errors name e.g. ``variant.position``."""
    return validate_variant(
        msg.chromosome,
        msg.position,
        msg.reference_bases,
        msg.alternate_bases,
        assembly,
        field_prefix=field_prefix,
    )


def variant_to_proto(key: VariantKey) -> allele_pb2.Variant:
    """Return the ``mesh.v1.Variant`` of a key."""
    return allele_pb2.Variant(
        chromosome=key.chromosome,
        position=key.position,
        reference_bases=key.ref,
        alternate_bases=key.alt,
    )


def region_from_proto(
    msg: allele_pb2.Region,
    assembly: Assembly,
    *,
    max_span: int | None = None,
    field_prefix: str = "region",
) -> RegionKey:
    """Validate a ``mesh.v1.Region``; errors name e.g. ``region.start``."""
    return validate_region(
        msg.chromosome,
        msg.start,
        msg.end,
        assembly,
        max_span=max_span,
        field_prefix=field_prefix,
    )


def region_to_proto(key: RegionKey) -> allele_pb2.Region:
    """Return the ``mesh.v1.Region`` of a key."""
    return allele_pb2.Region(chromosome=key.chromosome, start=key.start, end=key.end)
