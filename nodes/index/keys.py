"""LMDB key layout of the position index.

A key is ``contig code (1 byte) | position (4 bytes, big-endian) | alleles``, so
byte order is genomic order and a region is one cursor scan from
``region_start_key`` while ``key[:5] <= region_end_prefix``.

The allele part is ``REF b">" ALT`` (bases are ``ACGTN``). LMDB keys are at most 511
bytes, so a long indel instead stores ``b"#" + blake2b(REF>ALT)``; ``#`` sorts before
every base letter so the two forms never collide. The full alleles always live in
the value, so a hashed key loses nothing.
"""

from __future__ import annotations

import hashlib
import struct

from mesh.genome import CONTIG_CODES, CONTIG_NAMES
from mesh.variants import RegionKey, VariantKey

_PREFIX = struct.Struct(">BI")
PREFIX_LEN = _PREFIX.size
#: ``pack_prefix(contig code, position)``: the first 5 bytes of a key (hot paths).
pack_prefix = _PREFIX.pack
#: Longest ``REF>ALT`` kept verbatim in a key; longer allele pairs are hashed.
MAX_INLINE_ALLELES = 400
_HASH_MARK = b"#"


def encode_key(variant: VariantKey) -> bytes:
    """Return the index key of a canonical, normalized variant."""
    # Inlined rather than calling encode_key_code: this runs once per point lookup.
    alleles = f"{variant.ref}>{variant.alt}".encode("ascii")
    if len(alleles) > MAX_INLINE_ALLELES:
        alleles = _HASH_MARK + hashlib.blake2b(alleles, digest_size=20).digest()
    return _PREFIX.pack(CONTIG_CODES[variant.chromosome], variant.position) + alleles


def encode_key_parts(chromosome: str, position: int, ref: str, alt: str) -> bytes:
    """Like :func:`encode_key` for callers that hold the fields, not a ``VariantKey``."""
    return encode_key_code(CONTIG_CODES[chromosome], position, ref, alt)


def encode_key_code(code: int, position: int, ref: str, alt: str) -> bytes:
    """Like :func:`encode_key` from the contig's sort code and the (canonical) fields."""
    alleles = f"{ref}>{alt}".encode("ascii")
    if len(alleles) > MAX_INLINE_ALLELES:
        alleles = _HASH_MARK + hashlib.blake2b(alleles, digest_size=20).digest()
    return _PREFIX.pack(code, position) + alleles


def decode_prefix(key: bytes) -> tuple[str, int]:
    """Return ``(chromosome, position)`` of a key."""
    code, position = _PREFIX.unpack_from(key)
    return CONTIG_NAMES[code], position


def position_prefix(chromosome: str, position: int) -> bytes:
    """Return the 5-byte prefix shared by every key at one position."""
    return _PREFIX.pack(CONTIG_CODES[chromosome], position)


def region_bounds(region: RegionKey) -> tuple[bytes, bytes]:
    """Return ``(first_prefix, last_prefix)``: scan keys with ``first <= key[:5] <= last``."""
    return position_prefix(region.chromosome, region.start), position_prefix(
        region.chromosome, region.end
    )
