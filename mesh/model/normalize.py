"""Variant normalization: one variant, one key, at ingest and at query time.

Two countries that wrote the same indel differently must meet on one index key, so
the index builder and every lookup run the same :func:`normalize`:

1. trim the common suffix, then the common prefix, keeping one anchor base
   (the parsimonious form, as in ``bcftools norm`` / vt);
2. with a reference genome, left-align indels: while both alleles end in the same
   base, drop it and prepend the reference base before them (Tan et al. 2015).
"""

from __future__ import annotations

from typing import Protocol

from mesh.errors import InvalidArgumentError
from mesh.model.variants import VariantKey

#: How many reference bases to fetch at once while shifting an indel left.
_LEFT_ALIGN_WINDOW = 256


class ReferenceSequence(Protocol):
    """What left-alignment needs from a reference genome."""

    def fetch(self, chromosome: str, start: int, end: int) -> str:
        """Return upper-case bases of ``[start, end)``, 0-based half-open, canonical name."""
        ...


def trim(position: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Return the parsimonious ``(position, ref, alt)``: common suffix, then prefix, trimmed.

    One anchor base is kept so that neither allele becomes empty.
    """
    # Common suffix first (vt/bcftools order): keeps the leftmost anchor.
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt = ref[1:], alt[1:]
        position += 1
    return position, ref, alt


def left_align(
    reference: ReferenceSequence, chromosome: str, position: int, ref: str, alt: str
) -> tuple[int, str, str]:
    """Shift a trimmed indel to its leftmost equivalent position."""
    if len(ref) == len(alt):
        return position, ref, alt
    window: str = ""
    window_start = position - 1  # 0-based start of the bases held in ``window``
    while ref[-1] == alt[-1] and position > 1:
        if window_start >= position - 1:
            new_start = max(0, position - 1 - _LEFT_ALIGN_WINDOW)
            window = reference.fetch(chromosome, new_start, position - 1) + window
            window_start = new_start
            if not window:
                break
        before = window[position - 2 - window_start]
        ref, alt = before + ref[:-1], before + alt[:-1]
        position -= 1
    return trim(position, ref, alt)


def normalize(variant: VariantKey, reference: ReferenceSequence | None = None) -> VariantKey:
    """Return the normalized form of a validated variant (see the module docstring)."""
    position, ref, alt = trim(variant.position, variant.ref, variant.alt)
    if reference is not None and len(ref) != len(alt):
        actual = reference.fetch(variant.chromosome, position - 1, position - 1 + len(ref))
        if actual and actual != ref:
            raise InvalidArgumentError(
                "reference_bases",
                f"reference bases {ref} do not match the reference genome ({actual}) "
                f"at {variant.chromosome}:{position}",
                reason="REFERENCE_MISMATCH",
            )
        position, ref, alt = left_align(reference, variant.chromosome, position, ref, alt)
    if (position, ref, alt) == (variant.position, variant.ref, variant.alt):
        return variant
    return VariantKey(variant.chromosome, position, ref, alt)
