"""Reading a built index back, for assertions."""

from __future__ import annotations

from pathlib import Path

import lmdb

from mesh.model.variants import VariantKey
from mesh.v1 import allele_pb2
from nodes.index.index_dir import read_metadata
from nodes.index.keys import encode_key
from nodes.index.records import ABSENT, ValueCodec
from tests.count_helpers import FIELDS, as_tuple
from tests.vcf_factory import Counts


def read_raw(path: Path) -> dict[bytes, bytes]:
    """Every key/value of an index, in key order."""
    env = lmdb.open(str(path), readonly=True, lock=False, subdir=True)
    try:
        with env.begin() as txn:
            return dict(txn.cursor().iternext())
    finally:
        env.close()


def lookup(path: Path, chrom: str, pos: int, ref: str, alt: str) -> allele_pb2.VariantFrequency:
    """The stored frequency of one variant (KeyError when absent); checks the totals too."""
    raw = read_raw(path)
    value = raw[encode_key(VariantKey(chrom, pos, ref, alt))]
    codec = codec_of(path)
    freq = codec.decode_frequency(value)
    total = tuple(None if v == ABSENT else v for v in codec.frequency(value)[1])
    assert total == as_tuple(freq.counts)
    return freq


def codec_of(path: Path) -> ValueCodec:
    """The value codec of a built index (its dataset id and groups)."""
    metadata = read_metadata(path)
    return ValueCodec(metadata.id, metadata.groups)


def counts_by_label(freq: allele_pb2.VariantFrequency) -> dict[str, Counts]:
    """``{"": total, label: counts}`` of a stored frequency; checks AF and precision."""
    result = {"": as_tuple(freq.counts)}
    for p in freq.populations:
        result[p.population] = as_tuple(p.counts)
    for c in [freq.counts, *(p.counts for p in freq.populations)]:
        known = c.HasField("allele_count") and c.allele_number
        assert c.HasField("allele_frequency") == bool(known)
        if known:
            assert c.allele_frequency == c.allele_count / c.allele_number
        assert c.precision == allele_pb2.COUNT_PRECISION_EXACT
    return result


def require_tool(name: str, how: str) -> str:
    """The path of a command-line tool the test needs: skipped without it, failed under CI."""
    import os
    import shutil

    import pytest

    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed ({how})")
        pytest.skip(f"needs {name} ({how})")
    return path


# -- stored values written by hand: rows of (AC, AN, hom, het, hemi), -1 for absent ------


def row_counts(row: tuple[int, ...], af: float | None = None) -> allele_pb2.AlleleCounts:
    """The served message of one row (-1: absent), AF as the node's rule gives it, exact."""
    message = allele_pb2.AlleleCounts(precision=allele_pb2.COUNT_PRECISION_EXACT)
    for name, value in zip(FIELDS, row, strict=True):
        if value != -1:
            setattr(message, name, value)
    ac, an = row[0], row[1]
    if ac != -1 and an not in (-1, 0):
        message.allele_frequency = ac / an
    elif af is not None:
        message.allele_frequency = af
    return message


def row_frequency(
    variant: allele_pb2.Variant, groups: tuple[str, ...], rows: list, filters: list[str]
) -> allele_pb2.VariantFrequency:
    """The served ``VariantFrequency`` of ``rows`` (total first; ``None``: group not there)."""
    frequency = allele_pb2.VariantFrequency(
        variant=variant, dataset_id="ds-1", counts=row_counts(*rows[0]), filters=filters
    )
    for label, row in zip(groups[1:], rows[1:], strict=True):
        if row is not None:
            frequency.populations.add(population=label, counts=row_counts(*row))
    return frequency


def stored_value(
    codec: ValueCodec, variant: allele_pb2.Variant, rows: list, filters: list[str]
) -> bytes:
    """The stored value of ``rows``: the codec's packed counts, the variant, the filters."""
    packed = codec.pack([None if r is None else r[0] + r[1:2] for r in rows])
    encoded = variant.SerializeToString()
    filtered = b"".join(b"\x3a" + bytes([len(f)]) + f.encode() for f in filters)
    return packed + b"\x0a" + bytes([len(encoded)]) + encoded + filtered
