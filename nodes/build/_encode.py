"""The builder's encoding of index values (the format: :mod:`nodes.index.records`).

A value is ``codes | counts | variant | filters``. Only ``variant`` depends on the
allele's position and bases; ``codes | counts`` depends on its counts alone, so
:meth:`ValueEncoder.counts_part` can be computed (and cached) once per count row and
joined with :func:`variant_field` per allele. ``variant`` and ``filters`` are written
here in the protobuf wire format, as they are served (:mod:`mesh.model.wire`: varints and
field keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter

from mesh.model.variants import VariantKey
from mesh.model.wire import (
    ALTERNATE_BASES_TAG,
    CHROMOSOME_TAG,
    FILTERS_TAG,
    POSITION_TAG,
    REFERENCE_BASES_TAG,
    VARIANT_TAG,
    len_field,
    varint,
)
from nodes.build.vcf_counts import Counts, RecordError
from nodes.index import records

__all__ = ["ValueEncoder", "chromosome_field", "encode_filters", "variant_field", "varint"]


def chromosome_field(chromosome: str) -> bytes:
    """The encoded ``Variant.chromosome`` field."""
    return len_field(CHROMOSOME_TAG, chromosome.encode())


def variant_field(chrom_field: bytes, position: int, ref: bytes, alt: bytes) -> bytes:
    """The encoded ``VariantFrequency.variant`` field (``chrom_field`` from above)."""
    body = b"".join(
        (
            chrom_field,
            POSITION_TAG,
            varint(position),
            REFERENCE_BASES_TAG,
            varint(len(ref)),
            ref,
            ALTERNATE_BASES_TAG,
            varint(len(alt)),
            alt,
        )
    )
    return VARIANT_TAG + varint(len(body)) + body


class ValueEncoder:
    """Writes the :mod:`nodes.index.records` value of one allele of one input file.

    ``labels`` are the file's groups (``""`` first), ``groups`` the dataset's (every
    input's labels: ``DatasetMetadata.groups``); a file's row is laid out in the
    dataset's group order, a group the file lacks left out.
    """

    def __init__(
        self, dataset_id: str, labels: Sequence[str], groups: Sequence[str] | None = None
    ) -> None:
        self.codec = records.ValueCodec(dataset_id, groups or labels)
        position = {label: i for i, label in enumerate(labels)}
        picks = [position.get(g, len(labels)) for g in self.codec.groups]
        self._remap = None if picks == list(range(len(labels))) else itemgetter(*picks)
        #: Per dataset group, the file group it comes from (-1: the file has none).
        self.picks = tuple(p if p < len(labels) else -1 for p in picks)
        self._chromosomes: dict[str, bytes] = {}

    def counts_part(self, row: Sequence[Counts | None]) -> tuple[bytes, bytes]:
        """Return ``(codes | counts, b"")`` of one count row; ``row[0]`` is the total.

        Raises :class:`RecordError` when a count cannot be stored.
        """
        if self._remap is not None:
            row = self._remap((*row, None))
        try:
            return self.codec.pack(row), b""
        except records.RecordValueError as exc:
            raise RecordError(str(exc)) from None

    def chromosome(self, chromosome: str) -> bytes:
        """The cached encoded chromosome field."""
        field = self._chromosomes.get(chromosome)
        if field is None:
            field = self._chromosomes[chromosome] = chromosome_field(chromosome)
        return field

    def encode(self, variant: VariantKey, row: Sequence[Counts | None], filters: bytes) -> bytes:
        """Return the stored value of one allele; ``row[0]`` is the total."""
        head, _ = self.counts_part(row)
        field = variant_field(
            self.chromosome(variant.chromosome),
            variant.position,
            variant.ref.encode(),
            variant.alt.encode(),
        )
        return b"".join((head, field, filters))


def encode_filters(names: Sequence[str]) -> bytes:
    """The encoded ``filters`` field: nothing for PASS."""
    return b"".join(len_field(FILTERS_TAG, n.encode()) for n in names if n != "PASS")
