"""LMDB key layout of the position index.

A key is ``contig code (1 byte) | position (4 bytes, big-endian) | alleles``, so
byte order is genomic order and a region is one cursor scan over the keys whose
first five bytes lie within :func:`region_bounds`.

The allele part is ``REF b">" ALT`` (bases are ``ACGTN``). LMDB keys are at most 511
bytes, so a long indel instead stores ``b"#" + blake2b(REF>ALT)``; ``#`` sorts before
every base letter so the two forms never collide. The full alleles always live in
the value, so a hashed key loses nothing.
"""

from __future__ import annotations

import hashlib
import struct

from mesh.model.genome import CONTIG_CODES
from mesh.model.variants import RegionKey, VariantKey

_PREFIX = struct.Struct(">BI")
PREFIX_LEN = _PREFIX.size
#: ``pack_prefix(contig code, position)``: the first 5 bytes of a key (hot paths).
pack_prefix = _PREFIX.pack
#: Longest ``REF>ALT`` kept verbatim in a key; longer allele pairs are hashed.
MAX_INLINE_ALLELES = 400
_HASH_MARK = b"#"
#: Between REF and ALT in a key (the compiled batch keys take it from here).
ALLELE_SEPARATOR = ">"


def encode_key(variant: VariantKey) -> bytes:
    """Return the index key of a canonical, normalized variant."""
    alleles = f"{variant.ref}{ALLELE_SEPARATOR}{variant.alt}".encode("ascii")
    if len(alleles) > MAX_INLINE_ALLELES:
        alleles = _HASH_MARK + hashlib.blake2b(alleles, digest_size=20).digest()
    return _PREFIX.pack(CONTIG_CODES[variant.chromosome], variant.position) + alleles


def position_prefix(chromosome: str, position: int) -> bytes:
    """Return the 5-byte prefix shared by every key at one position."""
    return _PREFIX.pack(CONTIG_CODES[chromosome], position)


def region_bounds(region: RegionKey) -> tuple[bytes, bytes]:
    """Return ``(first_prefix, last_prefix)``: scan keys with ``first <= key[:5] <= last``."""
    return position_prefix(region.chromosome, region.start), position_prefix(
        region.chromosome, region.end
    )
