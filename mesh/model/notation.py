"""Variant and region notations people type, read into validated keys.

:func:`parse_variant` accepts, with whitespace around the text ignored:

============================================  ==========================================
``1-55051215-G-GA``                           gnomAD style (1-based, VCF alleles)
``chr1:55051215:G:GA``                        colon-separated VCF style (1-based)
``1:55051215 G>GA``, ``1:55051215:G>GA``      arrow style (1-based)
``NC_000001.11:55051214:G:GA``                SPDI (0-based interbase position!)
``NC_000001.11:g.55051215G>A``                HGVS genomic substitution
``NC_000001.11:g.55051215del``, ``..._55051217del``, ``..._55051216insTTA``,
``...g.55051215dup``, ``..._55051217delinsAT``  HGVS genomic indels (need a reference)
============================================  ==========================================

Four colon-separated fields are read as SPDI when the first is a RefSeq ``NC_``
accession and as VCF style otherwise. SPDI with an empty allele or a numeric deletion
length needs reference bases to become a VCF-style key; they are fetched when a
``reference`` is given and are an error otherwise. HGVS genomic indels are translated
with the ``reference`` too (:mod:`mesh.model.hgvs`, which also left-aligns them on it) and are
an error without one; ``c.``, ``n.``, ``r.`` and ``p.`` descriptions are refused (no
transcript data).

The parser does not normalize other notations: callers run
:func:`mesh.model.normalize.normalize` on the result, as for any other input.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mesh.errors import InvalidArgumentError
from mesh.model.genes import looks_like_gene
from mesh.model.genome import Assembly, canonical_chromosome, refseq_accession
from mesh.model.hgvs import HGVS_INDEL, HGVS_TRANSCRIPT, transcript_refused, translate_indel
from mesh.model.variants import RegionKey, VariantKey, validate_region, validate_variant

if TYPE_CHECKING:
    from mesh.model.normalize import ReferenceSequence

ACCEPTED_VARIANT_NOTATIONS = (
    "1-55051215-G-GA (gnomAD), chr1:55051215:G:GA, 1:55051215 G>GA or 1:55051215:G>GA, "
    "NC_000001.11:55051214:G:GA (SPDI, 0-based position), "
    "NC_000001.11:g.55051215G>A (HGVS genomic substitution), "
    "NC_000001.11:g.55051215del, ...g.55051215_55051216insTTA, ...g.55051215dup, "
    "...g.55051215_55051217delinsAT (HGVS genomic indels, ranges too; need a reference FASTA)"
)
ACCEPTED_REGION_NOTATIONS = "1:55051000-55052000, chr1:55,051,000-55,052,000, 1-55051000-55052000"

# re.ASCII: \d and \s must not accept other scripts' digits or spaces.
_FLAGS = re.ASCII
_CHROM = r"(?P<chrom>[A-Za-z0-9_.]+)"
_POS = r"(?P<pos>[0-9]+)"
# Allele patterns are loose on purpose: validation then names the bad base.
_GNOMAD = re.compile(rf"{_CHROM}-{_POS}-(?P<ref>[^\s:-]+)-(?P<alt>[^\s:-]+)", _FLAGS)
_COLONS = re.compile(rf"{_CHROM}:{_POS}:(?P<ref>[^\s:]*):(?P<alt>[^\s:]*)", _FLAGS)
_ARROW = re.compile(rf"{_CHROM}:{_POS}(?:\s+|:)(?P<ref>[^\s:>]+)\s*>\s*(?P<alt>[^\s:>]+)", _FLAGS)
_HGVS_SUBSTITUTION = re.compile(rf"{_CHROM}:g\.{_POS}(?P<ref>[A-Za-z])>(?P<alt>[A-Za-z])", _FLAGS)
# Anything of the shape ``<sequence>:<type>.<description>`` is meant as HGVS.
_HGVS_ANY = re.compile(r"[^\s:]+:[a-z]\.\S+", _FLAGS)
_REFSEQ = re.compile(r"NC_[0-9]+(?:\.[0-9]+)?", _FLAGS | re.IGNORECASE)
_NUMBER = r"[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+"
_REGION = re.compile(rf"{_CHROM}[:-](?P<start>{_NUMBER})-(?P<end>{_NUMBER})", _FLAGS)

# Longer numbers are beyond every chromosome (and beyond int64 on the wire).
_MAX_DIGITS = 18


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _unparseable(text: str, field: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        field,
        f"cannot read {_shorten(text)!r} as a variant; accepted notations: "
        f"{ACCEPTED_VARIANT_NOTATIONS}",
        reason="UNPARSEABLE_VARIANT",
    )


def _number(digits: str, what: str) -> int:
    digits = digits.replace(",", "")
    if len(digits) > _MAX_DIGITS:
        # Named after the part; parse_variant / parse_region re-raise it under their field.
        raise InvalidArgumentError(
            what, f"{what} {_shorten(digits)} is too large", reason="POSITION_OUT_OF_RANGE"
        )
    return int(digits)


_COUNT = re.compile(r"[0-9]+", _FLAGS)


def parse_count(value: object, field: str) -> int:
    """A non-negative integer parameter (``start``, ``skip``, ``page_size``...) from the edge.

    An ``int`` (JSON), or a string of ASCII digits ``0-9`` only: ``int`` reads full-width
    and Arabic-Indic digits as numbers, ``"²".isdigit()`` holds but ``int("²")`` raises,
    and pydantic also takes ``"+5"``, ``"5_0"`` and ``"5.0"``.
    Anything else is an :class:`InvalidArgumentError` naming ``field``.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise InvalidArgumentError(field, f"{field} must not be negative, got {value}")
        return value
    text = value.strip(" \t") if isinstance(value, str) else None
    if text is None or not _COUNT.fullmatch(text):
        raise InvalidArgumentError(
            field,
            f"{field} must be a non-negative integer written with the digits 0-9, "
            f"got {_shorten(repr(value))}",
        )
    if len(text) > _MAX_DIGITS:
        raise InvalidArgumentError(
            field, f"{field} {_shorten(text)} is too large", reason="NUMBER_OUT_OF_RANGE"
        )
    return int(text)


def parse_variant(
    text: str,
    assembly: Assembly,
    *,
    reference: ReferenceSequence | None = None,
    field: str = "variant",
) -> VariantKey:
    """Read a variant in any accepted notation (module docstring) into a validated key.

    Every error names ``field`` and quotes the input; ``reference`` (of ``assembly``)
    anchors SPDI alleles that lack an anchor base and translates HGVS indels.
    """
    stripped = text.strip()
    try:
        return _parse_variant(stripped, assembly, reference, field)
    except InvalidArgumentError as error:
        if error.reason == "UNPARSEABLE_VARIANT" or error.field == field:
            raise
        # A validation error names a proto field the caller never sent: name theirs.
        raise InvalidArgumentError(
            field, f"{error.message} (in {_shorten(stripped)!r})", reason=error.reason
        ) from None


def _parse_variant(
    text: str, assembly: Assembly, reference: ReferenceSequence | None, field: str
) -> VariantKey:
    if match := _HGVS_SUBSTITUTION.fullmatch(text):
        chrom, pos, ref, alt = match.group("chrom", "pos", "ref", "alt")
        return validate_variant(chrom, _number(pos, "position"), ref, alt, assembly)
    if match := HGVS_INDEL.fullmatch(text):
        return translate_indel(match, assembly, reference, field)
    if HGVS_TRANSCRIPT.fullmatch(text):
        raise transcript_refused(text, field)
    if _HGVS_ANY.fullmatch(text):
        raise InvalidArgumentError(
            field,
            f"{_shorten(text)!r} is an HGVS description of a kind not read here; accepted: "
            "genomic substitutions (NC_000001.11:g.55051215G>A) and genomic del, ins, dup "
            "and delins (NC_000001.11:g.55051215del)",
            reason="UNSUPPORTED_HGVS",
        )
    match = _ARROW.fullmatch(text) or _COLONS.fullmatch(text) or _GNOMAD.fullmatch(text)
    if match is None:
        raise _unparseable(text, field)
    if match.re is _COLONS and _REFSEQ.fullmatch(match["chrom"]):
        return _from_spdi(match, assembly, reference, field)
    chrom, pos, ref, alt = match.group("chrom", "pos", "ref", "alt")
    return validate_variant(chrom, _number(pos, "position"), ref, alt, assembly)


def _from_spdi(
    match: re.Match[str], assembly: Assembly, reference: ReferenceSequence | None, field: str
) -> VariantKey:
    """Turn SPDI (0-based interbase position) into a VCF-style key."""
    text = match.string
    deleted, inserted = match["ref"], match["alt"]
    interbase = _number(match["pos"], "position")
    chromosome = canonical_chromosome(match["chrom"], assembly)
    if deleted.isdigit():
        if reference is None:
            raise InvalidArgumentError(
                field,
                f"SPDI {_shorten(text)!r} gives the deletion as a length ({deleted}); the "
                "deleted bases are needed to build a key; write them out, e.g. "
                "NC_000001.11:55051214:GA:G",
                reason="SPDI_DELETION_LENGTH",
            )
        length = _number(deleted, "deletion length")
        deleted = _fetch(reference, chromosome, interbase, interbase + length, text, field)
    if not deleted and not inserted:
        raise InvalidArgumentError(
            field,
            f"SPDI {_shorten(text)!r} deletes and inserts nothing: not a variant",
            reason="SAME_ALLELES",
        )
    if deleted and inserted:
        return validate_variant(chromosome, interbase + 1, deleted, inserted, assembly)
    if reference is None:
        raise InvalidArgumentError(
            field,
            f"SPDI {_shorten(text)!r} has an empty allele; a VCF-style key needs the reference "
            f"base at {chromosome}:{interbase} as an anchor and no reference genome is "
            f"configured; write it with that base, as {chromosome}-{interbase}-"
            f"<base>{_shorten(deleted)}-<base>{_shorten(inserted)}",
            reason="SPDI_NEEDS_ANCHOR",
        )
    if interbase == 0:
        # Nothing before the first base: anchor on the right, as VCF does at POS 1.
        after = len(deleted)
        anchor = _fetch(reference, chromosome, after, after + 1, text, field)
        return validate_variant(chromosome, 1, deleted + anchor, inserted + anchor, assembly)
    anchor = _fetch(reference, chromosome, interbase - 1, interbase, text, field)
    return validate_variant(chromosome, interbase, anchor + deleted, anchor + inserted, assembly)


def _fetch(
    reference: ReferenceSequence, chromosome: str, start: int, end: int, text: str, field: str
) -> str:
    bases = reference.fetch(chromosome, start, end) if start < end else ""
    if len(bases) != end - start:
        raise InvalidArgumentError(
            field,
            f"SPDI {_shorten(text)!r} reaches past the reference sequence of chromosome "
            f"{chromosome}",
            reason="POSITION_OUT_OF_RANGE",
        )
    return bases.upper()


def parse_region(
    text: str, assembly: Assembly, *, max_span: int | None = None, field: str = "region"
) -> RegionKey:
    """Read ``1:55051000-55052000``, ``chr1:55,051,000-55,052,000`` or ``1-55051000-55052000``.

    The region is 1-based and inclusive, like every region inside allelemesh.
    """
    stripped = text.strip()
    match = _REGION.fullmatch(stripped)
    if match is None:
        raise InvalidArgumentError(
            field,
            f"cannot read {_shorten(stripped)!r} as a region; accepted notations: "
            f"{ACCEPTED_REGION_NOTATIONS} (1-based, inclusive)",
            reason="UNPARSEABLE_REGION",
        )
    chrom, start, end = match.group("chrom", "start", "end")
    try:
        return validate_region(
            chrom,
            _number(start, "start"),
            _number(end, "end"),
            assembly,
            max_span=max_span,
        )
    except InvalidArgumentError as error:
        if error.field == field:
            raise
        raise InvalidArgumentError(
            field, f"{error.message} (in {_shorten(stripped)!r})", reason=error.reason
        ) from None


_POSITION_ONLY = re.compile(rf"{_CHROM}[:-]{_POS}", _FLAGS)
_RSID = re.compile(r"rs[0-9]+", _FLAGS | re.IGNORECASE)


def parse_variant_or_region(
    text: str,
    assembly: Assembly,
    *,
    max_span: int | None = None,
    field: str = "variant",
    reference: ReferenceSequence | None = None,
) -> VariantKey | RegionKey:
    """A variant in any notation, else a region: what a search box or ``query`` is given.

    A text that is one of them but wrong (bad bases, a position beyond the chromosome)
    gets that specific error; one that is neither names both lists of notations.
    """
    stripped = text.strip()
    if _REGION.fullmatch(stripped):
        return parse_region(stripped, assembly, max_span=max_span, field=field)
    try:
        return parse_variant(stripped, assembly, reference=reference, field=field)
    except InvalidArgumentError as error:
        if error.reason != "UNPARSEABLE_VARIANT":
            raise
    shown = _shorten(stripped)
    if _RSID.fullmatch(stripped):
        why = (
            f"{shown!r} is a dbSNP rsID: look it up as one (JSON API /v1/rsids/{shown}, "
            f"allelemesh query {shown}, Beacon genomicAlleleShortForm), not as a variant"
        )
    elif position := _POSITION_ONLY.fullmatch(stripped):
        chrom, pos = position.group("chrom", "pos")
        why = (
            f"{shown!r} is a position without alleles: give the bases "
            f"({chrom}:{pos} G>GA) or a range ({chrom}:{pos}-{pos})"
        )
    elif looks_like_gene(stripped):
        why = (
            f"{shown!r} is not a variant or a region; as a gene symbol, look it up as a gene "
            f"(JSON API /v1/genes/{shown}, allelemesh query {shown} at a gateway, Beacon geneId)"
        )
    else:
        why = f"cannot read {shown!r} as a variant or a region"
    raise InvalidArgumentError(
        field,
        f"{why}; variant notations: {ACCEPTED_VARIANT_NOTATIONS}; region notations: "
        f"{ACCEPTED_REGION_NOTATIONS} (1-based, inclusive)",
        reason="UNPARSEABLE_VARIANT",
    )


def format_variant(key: VariantKey) -> str:
    """Return the gnomAD-style text of a key, e.g. ``1-55051215-G-GA``."""
    return f"{key.chromosome}-{key.position}-{key.ref}-{key.alt}"


def format_spdi(key: VariantKey, assembly: Assembly) -> str:
    """Return SPDI text with the key's own alleles, e.g. ``NC_000001.11:55051214:G:GA``.

    The alleles are not rewritten to the fully-justified SPDI (VOCA) form, which would
    need the reference; :func:`parse_variant` reads the result back to the same key.
    """
    accession = refseq_accession(key.chromosome, assembly)
    return f"{accession}:{key.position - 1}:{key.ref}:{key.alt}"
