"""The INFO values a convention needs, taken from VCF text, counted as pysam's would be.

The INFO *layout* (the sequence of keys) repeats from record to record, so where
each needed value sits is worked out once per layout; one ``replace``/``split`` and
an ``itemgetter`` then pick them out of a record. Plain gnomAD-style counts (AC, AN
and homozygous counts of every group, all present, all plain numbers) are counted
with a few list operations (:func:`_simple_rows`); anything else is converted to
what pysam returns (``int``, ``(int, ...)``, ``None`` for ``.``) and counted by the
very same :class:`~nodes.build.vcf_counts.InfoCounter`. What pysam would read differently
(a repeated key, a count key written as a flag, values beyond the plain grammar)
raises :class:`FallbackError`: the caller hands that record to pysam.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Collection, Sequence
from functools import partial
from itertools import islice, repeat
from operator import add, itemgetter, le, sub
from typing import TYPE_CHECKING, Any

from allelemesh_codec import make_packer, pack_counts

from nodes.build._arrays import ALLELE_TAGS, RecordError, allele_map
from nodes.build.vcf_counts import ABSENT, Counts, InfoCounter, is_male, male_part

if TYPE_CHECKING:
    from allelemesh_codec._pack import Packer

_INT = re.compile(rb"-?[0-9]{1,9}")  # wider values: htslib's int32 rules, left to pysam
_FLOAT32 = struct.Struct("<f")
_WHOLE = re.compile(rb"[-+]?[0-9]+")  # an integer of any width (htslib's range rules apply)
_NUMBER = re.compile(rb"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_MISSING = object()
CACHE_BYTES = 32 << 20  # per cache: see CountCache
CACHE_TRIAL = 50_000  # lookups before deciding whether the INFO cache pays


class FallbackError(Exception):
    """Raised when a record needs pysam's reading."""


class InfoText:
    """Counts one file's INFO text; built once per header."""

    def __init__(
        self,
        counter: InfoCounter,
        scalar: Collection[str],
        tags: Sequence[str] = (),
        floats: Collection[str] = (),
    ) -> None:
        self.counter = counter
        #: Type=Float keys (AF-only groups' frequencies).
        self._floats = frozenset(floats)
        self._counts = counter.needed_keys()
        #: vt's OLD_MULTIALLELIC/OLD_VARIANT (strings), read after the counts.
        self._tags = tuple(tags)
        self._names = (*self._counts, *self._tags)
        self._needed = tuple(name.encode() for name in self._names)
        self._scalar = tuple(name in scalar for name in self._names)
        self._layouts: dict[tuple[bytes, ...], _Layout | None] = {}
        self._empty = self._make_layout({})
        self._n_groups = len(counter.labels)
        self._typed: list[dict[bytes, Any]] = [{}, {}]  # per scalar: text → pysam value

    def packer(
        self, picks: Sequence[int]
    ) -> Callable[[bytes, int, bool], tuple[int, tuple[tuple[bytes, bytes], ...]] | None] | None:
        """The compiled counts packer of this file laid out in ``picks`` (``None``: no plain case).

        ``packer(info_b, n_alt, haploid)`` gives ``(total AN, parts)`` for a record of
        plain counts (every group's AC, AN and homozygous count, plain numbers, valid;
        outside haploid regions what :func:`_simple_rows` counts), the parts packed as
        :meth:`~nodes.index.records.ValueCodec.pack` packs them, and ``None`` for any
        other record (counted by :meth:`rows`, which words the errors).
        """
        compiled = self.compiled_packer(picks)
        return None if compiled is None else partial(pack_counts, compiled)

    def compiled_packer(self, picks: Sequence[int]) -> Packer | None:
        """The packer object behind :meth:`packer` (for ``allelemesh_codec.pack_lines`` too)."""
        groups = [f for _, f in self.counter.convention.groups]
        if self._tags or not self.counter.plain or not all(f.ac and f.hom for f in groups):
            return None
        ac, an, hom = (
            tuple(str(getattr(f, name)).encode() for f in groups) for name in ("ac", "an", "hom")
        )
        refused = tuple(sorted({k.encode() for f in groups for k in (f.het, f.hemi) if k}))
        every = [*ac, *an, *hom]
        if len(set(every)) != len(every) or set(every) & set(refused):
            return None  # a key shared by two roles (an info map): the general way
        labels = self.counter.labels
        males = tuple(
            -2
            if is_male(label)
            else labels.index(male_part(label))
            if male_part(label) in labels
            else -1
            for label in labels
        )
        return make_packer(ac, an, hom, refused, tuple(picks), males)

    def rows(
        self, info_b: bytes, n_alt: int, haploid: bool, alt_b: bytes = b""
    ) -> list[list[Counts | None]]:
        """``counts[allele][group]`` of one record (RecordError, FallbackError propagate)."""
        flat, layout = self._split(info_b)
        rows = None
        if not haploid and layout.simple is not None:
            rows = _simple_rows(layout.simple(flat), self._n_groups, n_alt)
        if rows is None:
            info = self._info_dict(flat, layout)
            remap = None
            if self._tags:
                tags = [info.pop(t, None) for t in ALLELE_TAGS]
                remap = allele_map(tags[0], tags[1], alt_b.decode().split(","))
            rows = self.counter.count(info, n_alt, haploid, remap)
        return rows

    def _split(self, info_b: bytes) -> tuple[list[Any], _Layout]:
        """INFO as ``[key, value, key, value, ..., None]`` and its layout."""
        if info_b == b".":
            return [None], self._empty
        if info_b.count(b"=") != info_b.count(b";") + 1:
            info_b = self._without_flags(info_b)
        flat: list[Any] = info_b.replace(b"=", b";").split(b";")
        keys = tuple(flat[0::2])
        layouts = self._layouts
        layout = layouts[keys] if keys in layouts else self._layout(info_b, keys)
        if layout is None:
            raise FallbackError
        flat.append(None)  # index -1: a needed key absent from this layout
        return flat, layout

    def _info_dict(self, flat: list[Any], layout: _Layout) -> dict[str, Any]:
        """The needed INFO values as pysam returns them, or :class:`FallbackError`."""
        result: dict[str, Any] = {}
        typed = self._typed
        values = layout.values(flat)
        n_counts = len(self._counts)
        for i, (name, scalar, text) in enumerate(
            zip(self._names, self._scalar, values, strict=False)
        ):
            if text is None:
                continue
            if i >= n_counts:  # a vt tag: the text itself (OLD_VARIANT: Number=.)
                tag = text.decode(errors="replace")
                result[name] = tuple(tag.split(",")) if "," in tag else tag
                continue
            if name in self._floats:
                result[name] = _float_value(text, scalar)
                continue
            cache = typed[scalar]
            value = cache.get(text, _MISSING)
            if value is _MISSING:
                value = _pysam_value(name, text, scalar)
                if len(cache) > 20_000:
                    cache.clear()
                cache[text] = value
            result[name] = value
        return result

    def _without_flags(self, info_b: bytes) -> bytes:
        """INFO without its flags and empty fields (none of them a needed key)."""
        parts = info_b.split(b";")
        dropped = [p for p in parts if b"=" not in p]
        if any(p in self._needed for p in dropped):
            raise FallbackError  # a count key written as a flag
        kept = b";".join([p for p in parts if b"=" in p])
        if kept.count(b"=") != kept.count(b";") + 1:
            raise FallbackError  # "=" inside a value
        return kept

    def _layout(self, info_b: bytes, keys: tuple[bytes, ...]) -> _Layout | None:
        """Where the needed values sit for one key sequence (``None``: leave to pysam)."""
        real = [p.partition(b"=")[0] for p in info_b.split(b";")]
        layout = None
        if list(keys) == real and all(real.count(k) <= 1 for k in self._needed):
            position = {k: 2 * i + 1 for i, k in enumerate(keys)}
            layout = self._make_layout(position)
        if len(self._layouts) < 1000:
            self._layouts[keys] = layout
        return layout

    def _make_layout(self, position: dict[bytes, int]) -> _Layout:
        values = itemgetter(*(position.get(k, -1) for k in self._needed), -1)
        groups = [
            tuple(k.encode() if k else None for k in (f.ac, f.an, f.hom, f.het, f.hemi))
            for _, f in self.counter.convention.groups
        ]
        simple = None
        # AC, AN and homozygous counts only, every group present, Number A and 1 (an R or G
        # array's length is not n_alt): see _simple_rows.
        if (
            self.counter.plain
            and all(g[2] and g[3] not in position and g[4] not in position for g in groups)
            and all(k in position for g in groups for k in g[:3])
        ):
            simple = itemgetter(*(position[g[i]] for i in range(3) for g in groups))  # type: ignore[index]
        return _Layout(values, simple)


class _Layout:
    """Getters of one INFO key sequence: the needed values, and the simple-case texts."""

    __slots__ = ("simple", "values")

    def __init__(
        self,
        values: Callable[[list[Any]], tuple[Any, ...]],
        simple: Callable[[list[Any]], tuple[bytes, ...]] | None,
    ) -> None:
        self.values = values
        self.simple = simple


def _simple_rows(
    texts: tuple[bytes, ...], n_groups: int, n_alt: int
) -> list[list[Counts | None]] | None:
    """``counts[allele][group]`` from ``AC..., AN..., hom...`` texts of every group, or ``None``.

    This is :meth:`InfoCounter.count` outside haploid regions when every group has
    AC, AN and a homozygous count and no heterozygous or hemizygous one, all plain
    numbers (``n_alt`` per allele key) with ``hom * 2 <= AC <= AN``; anything else is
    ``None`` (counted the general way, which also words the errors).
    """
    ans_t = texts[n_groups : 2 * n_groups]
    per_allele = texts[:n_groups] + texts[2 * n_groups :]
    if n_alt > 1:
        if set(map(bytes.count, per_allele, repeat(b","))) != {n_alt - 1}:
            return None
        per_allele = tuple(b",".join(per_allele).split(b","))
    if (
        not all(map(bytes.isdigit, per_allele))
        or not all(map(bytes.isdigit, ans_t))
        or max(map(len, per_allele)) > 9
        or max(map(len, ans_t)) > 9
    ):
        return None
    values = list(map(int, per_allele))
    ans = list(map(int, ans_t))
    half = n_groups * n_alt
    rows = []
    for a in range(n_alt):
        acs = values[a:half:n_alt]
        homs = values[half + a :: n_alt]
        if not all(map(le, acs, ans)):
            return None
        hets = list(map(sub, acs, map(add, homs, homs)))
        if min(hets) < 0:
            return None
        rows.append(list(zip(acs, ans, homs, hets, repeat(ABSENT), strict=False)))
    return rows  # type: ignore[return-value]


def _pysam_value(name: str, text: bytes, scalar: bool) -> Any:
    """What pysam returns for an Integer value of Number 1 (``scalar``) or an array.

    A fraction is refused here: htslib would silently truncate ``1.5`` to 1.
    """
    if scalar:
        if text in (b"", b"."):
            return None
        if _INT.fullmatch(text) is None:
            _not_integer(name, text)
            raise FallbackError
        return int(text)
    values: list[int | None] = []
    for piece in text.split(b","):
        if piece in (b"", b"."):
            values.append(None)
        elif _INT.fullmatch(piece) is None:
            _not_integer(name, text)
            raise FallbackError
        else:
            values.append(int(piece))
    return tuple(values)


def _float_value(text: bytes, scalar: bool) -> Any:
    """What pysam returns for a Float value (``None`` for ``.``), or FallbackError.

    htslib keeps a VCF Float as a 32-bit float (strtod, then a cast): so does this.
    """
    values: list[float | None] = []
    for piece in text.split(b","):
        if piece in (b"", b"."):
            values.append(None)
        elif _NUMBER.fullmatch(piece) is None:
            raise FallbackError
        else:
            try:
                values.append(_FLOAT32.unpack(_FLOAT32.pack(float(piece)))[0])
            except OverflowError:  # beyond float32: left to htslib's rules
                raise FallbackError from None
    if scalar:
        if len(values) != 1:
            raise FallbackError
        return values[0]
    return tuple(values)


def _not_integer(name: str, text: bytes) -> None:
    """Raise a RecordError for a number that is not an integer (``1.5``, ``2e3``)."""
    for piece in text.split(b","):
        if _NUMBER.fullmatch(piece) and not _WHOLE.fullmatch(piece):
            raise RecordError(
                f"{name} is declared Type=Integer but holds {text.decode(errors='replace')}"
            )


def integer_problem(info_b: bytes, names: Sequence[str]) -> str | None:
    """What is wrong with the Integer values of ``names`` in INFO text, if anything."""
    for part in info_b.split(b";"):
        key, eq, value = part.partition(b"=")
        if eq and key.decode(errors="replace") in names:
            try:
                _not_integer(key.decode(), value)
            except RecordError as exc:
                return str(exc)
    return None


class CountCache:
    """Counted INFO texts by ``(text, haploid)``: what repeats is counted and encoded once.

    Kept while it pays (a trial of :data:`CACHE_TRIAL` lookups), within
    :data:`CACHE_BYTES` (estimated; the oldest quarter goes first). One cache serves
    every file of a dataset whose header (``##contig`` lines aside) is the same, since
    the header alone decides what a text counts to: per-chromosome files share it.
    """

    __slots__ = ("bytes", "enabled", "entries", "hits", "lookups")

    def __init__(self) -> None:
        self.entries: dict[tuple[bytes, bool], Any] = {}
        self.bytes = 0
        self.lookups = self.hits = 0
        self.enabled = True

    def add(self, key: tuple[bytes, bool], counted: Any, size: int) -> None:
        """Keep ``counted`` (of ``size`` estimated bytes), or stop caching if it does not pay."""
        if not self.enabled:
            return
        self.lookups += 1
        if self.lookups == CACHE_TRIAL and self.hits < CACHE_TRIAL // 10:
            self.enabled = False  # INFO texts do not repeat here: stop paying
            self.entries.clear()
            self.bytes = 0
            return
        if self.bytes + size > CACHE_BYTES:
            entries = self.entries
            for old in list(islice(entries, len(entries) // 4 + 1)):
                self.bytes -= entries.pop(old).size
        self.entries[key] = counted
        self.bytes += size


def shared_cache(caches: dict[bytes, CountCache] | None, header: bytes) -> CountCache:
    """The cache for files of this header text (a new one without ``caches``)."""
    if caches is None:
        return CountCache()
    lines = header.split(b"\n")
    identity = b"\n".join(line for line in lines if not line.startswith(b"##contig="))
    cache = caches.get(identity)
    if cache is None:
        cache = caches[identity] = CountCache()
    return cache
