"""Reading a built index back, for assertions."""

from __future__ import annotations

from pathlib import Path

import lmdb

from mesh.v1 import allele_pb2
from mesh.variants import VariantKey
from nodes.keys import encode_key
from nodes.records import decode_frequency, decode_header
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
    """The stored frequency of one variant (KeyError when absent); checks the header too."""
    raw = read_raw(path)
    value = raw[encode_key(VariantKey(chrom, pos, ref, alt))]
    freq = decode_frequency(value)
    header = decode_header(value)
    c = freq.counts
    assert (
        header.allele_count,
        header.allele_number,
        header.homozygous,
        header.heterozygous,
        header.hemizygous,
    ) == (
        c.allele_count,
        c.allele_number,
        c.homozygous_count,
        c.heterozygous_count,
        c.hemizygous_count,
    )
    return freq


def _tuple(c: allele_pb2.AlleleCounts) -> Counts:
    return (
        c.allele_count,
        c.allele_number,
        c.homozygous_count,
        c.heterozygous_count,
        c.hemizygous_count,
    )


def counts_by_label(freq: allele_pb2.VariantFrequency) -> dict[str, Counts]:
    """``{"": total, label: counts}`` of a stored frequency; checks AF and precision."""
    result = {"": _tuple(freq.counts)}
    for p in freq.populations:
        result[p.population] = _tuple(p.counts)
    for c in [freq.counts, *(p.counts for p in freq.populations)]:
        expected_af = c.allele_count / c.allele_number if c.allele_number else 0.0
        assert c.allele_frequency == expected_af
        assert c.precision == allele_pb2.COUNT_PRECISION_EXACT
    return result
