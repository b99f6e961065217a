"""HGVS genomic indels (``g.`` del, ins, dup, delins) translated to VCF-style keys.

HGVS writes an indel by the bases it touches, 3'-shifted and without an anchor base;
a VCF-style key needs the anchor base and, for ``del`` and ``dup``, the deleted or
duplicated bases themselves. Both come from the reference genome, so every form
here needs a :class:`~mesh.model.normalize.ReferenceSequence` of the request's assembly.
The result is normalized (trimmed and left-aligned on that reference, the VCF
convention), so it meets the key the index holds even where the node that answers
has no FASTA of its own.

==================================================  ======================================
``NC_000001.11:g.55051215del``                      one base deleted
``NC_000001.11:g.55051215_55051217del``             a range deleted (``delGCA`` checked)
``NC_000001.11:g.55051215_55051216insTTA``          bases inserted between two neighbours
``NC_000001.11:g.55051215dup``, ``..._55051217dup``  a base or a range duplicated
``NC_000001.11:g.55051215_55051217delinsAT``        a range replaced
==================================================  ======================================

Transcript (``c.``, ``n.``, ``r.``) and protein (``p.``) descriptions need transcript
data, which allelemesh does not hold: they are refused with a message that says so.
"""

from __future__ import annotations

import re

from mesh.errors import InvalidArgumentError
from mesh.model.genome import Assembly, canonical_chromosome
from mesh.model.normalize import ReferenceSequence, normalize
from mesh.model.variants import VariantKey, validate_variant

#: Positions and optional range, the edit, and the bases that go with it (if any).
HGVS_INDEL = re.compile(
    r"(?P<chrom>[A-Za-z0-9_.]+):g\.(?P<start>[0-9]{1,18})(?:_(?P<end>[0-9]{1,18}))?"
    r"(?P<edit>delins|del|dup|ins)(?P<bases>[A-Za-z]*)",
    re.ASCII,
)
#: Descriptions on a transcript, a non-coding RNA or a protein.
HGVS_TRANSCRIPT = re.compile(r"[^\s:]+:[cnrp]\.\S+", re.ASCII)


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def transcript_refused(text: str, field: str) -> InvalidArgumentError:
    """The error for a ``c.``/``n.``/``r.``/``p.`` description."""
    kind = text.split(":", 1)[1][:2]
    return InvalidArgumentError(
        field,
        f"{_shorten(text)!r} is an HGVS {kind} description: mapping it to the genome needs "
        "transcript data, which is not available here; give the genomic (g.) description "
        "on a RefSeq chromosome, e.g. NC_000001.11:g.55051215del, or VCF-style alleles",
        reason="TRANSCRIPT_DATA_UNAVAILABLE",
    )


def translate_indel(
    match: re.Match[str],
    assembly: Assembly,
    reference: ReferenceSequence | None,
    field: str,
) -> VariantKey:
    """The normalized key of a matched :data:`HGVS_INDEL` description."""
    text = match.string.strip()
    chromosome = canonical_chromosome(match["chrom"], assembly)
    edit, bases = match["edit"], match["bases"].upper()
    start = int(match["start"])
    end = int(match["end"]) if match["end"] else start
    if start < 1 or end < start:
        raise InvalidArgumentError(
            field,
            f"HGVS {_shorten(text)!r}: the range {start}_{end} must run from a first position "
            "(at least 1) to a later one",
            reason="POSITION_OUT_OF_RANGE",
        )
    if edit == "ins" and end != start + 1:
        raise InvalidArgumentError(
            field,
            f"HGVS {_shorten(text)!r}: an insertion goes between two neighbouring positions "
            f"(e.g. {start}_{start + 1}ins...), not {start}_{end}",
            reason="UNPARSEABLE_VARIANT",
        )
    if edit in ("ins", "delins") and not bases:
        raise InvalidArgumentError(
            field,
            f"HGVS {_shorten(text)!r}: {edit} needs the inserted bases written out "
            f"(e.g. {edit}TTA)",
            reason="UNPARSEABLE_VARIANT",
        )
    if reference is None:
        raise InvalidArgumentError(
            field,
            f"HGVS {_shorten(text)!r} names bases by position only; turning it into VCF "
            f"alleles needs the reference genome, and no reference FASTA is configured "
            f'for {assembly} here ([references] {assembly} = "..."); write it as VCF-style '
            f"alleles instead, e.g. {chromosome}-<position>-<ref>-<alt>",
            reason="HGVS_NEEDS_REFERENCE",
        )

    def fetch(first: int, last: int) -> str:
        """Bases of 1-based ``first..last`` inclusive, or an error naming the input."""
        got = reference.fetch(chromosome, first - 1, last)
        if len(got) != last - first + 1:
            raise InvalidArgumentError(
                field,
                f"HGVS {_shorten(text)!r} reaches past the reference sequence of "
                f"chromosome {chromosome} (or the FASTA has none)",
                reason="POSITION_OUT_OF_RANGE",
            )
        return got.upper()

    touched = fetch(start, end)
    if edit in ("del", "dup") and bases and bases != touched:
        raise InvalidArgumentError(
            field,
            f"HGVS {_shorten(text)!r} states the bases {_shorten(bases)} but the reference "
            f"genome has {_shorten(touched)} at {chromosome}:{start}-{end}",
            reason="REFERENCE_MISMATCH",
        )
    if edit == "del":
        if start == 1:  # nothing before the first base: anchor on the right, as VCF does
            anchor = fetch(end + 1, end + 1)
            pos, ref, alt = 1, touched + anchor, anchor
        else:
            anchor = fetch(start - 1, start - 1)
            pos, ref, alt = start - 1, anchor + touched, anchor
    elif edit == "dup":  # the copy goes right after the duplicated stretch
        pos, ref, alt = end, touched[-1], touched[-1] + touched
    elif edit == "ins":
        pos, ref, alt = start, touched[0], touched[0] + bases
    else:  # delins
        pos, ref, alt = start, touched, bases
    key = validate_variant(chromosome, pos, ref, alt, assembly)
    return normalize(key, reference)
