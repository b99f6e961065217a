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
from collections.abc import Callable, Collection
from itertools import repeat
from operator import add, itemgetter, le, sub
from typing import Any

from nodes.build.vcf_counts import ABSENT, Counts, InfoCounter

_INT = re.compile(rb"-?[0-9]{1,9}")  # wider values: htslib's int32 rules, left to pysam
_MISSING = object()


class FallbackError(Exception):
    """Raised when a record needs pysam's reading."""


class InfoText:
    """Counts one file's INFO text; built once per header."""

    def __init__(self, counter: InfoCounter, scalar: Collection[str]) -> None:
        self.counter = counter
        self._names = counter.needed_keys()
        self._needed = tuple(name.encode() for name in self._names)
        self._scalar = tuple(name in scalar for name in self._names)
        self._layouts: dict[tuple[bytes, ...], _Layout | None] = {}
        self._empty = self._make_layout({})
        self._n_groups = len(counter.labels)
        self._typed: list[dict[bytes, Any]] = [{}, {}]  # per scalar: text → pysam value

    def rows(self, info_b: bytes, n_alt: int, haploid: bool) -> list[list[Counts | None]]:
        """``counts[allele][group]`` of one record (RecordError, FallbackError propagate)."""
        flat, layout = self._split(info_b)
        rows = None
        if not haploid and layout.simple is not None:
            rows = _simple_rows(layout.simple(flat), self._n_groups, n_alt)
        if rows is None:
            rows = self.counter.count(self._info_dict(flat, layout), n_alt, haploid)
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
        for name, scalar, text in zip(self._names, self._scalar, values, strict=False):
            if text is None:
                continue
            cache = typed[scalar]
            value = cache.get(text, _MISSING)
            if value is _MISSING:
                value = _pysam_value(text, scalar)
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
        # AC, AN and homozygous counts only, every group present: see _simple_rows.
        if all(g[2] and g[3] not in position and g[4] not in position for g in groups) and all(
            k in position for g in groups for k in g[:3]
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


def _pysam_value(text: bytes, scalar: bool) -> Any:
    """What pysam returns for an Integer value of Number 1 (``scalar``) or A."""
    if scalar:
        if text in (b"", b"."):
            return None
        if _INT.fullmatch(text) is None:
            raise FallbackError
        return int(text)
    values: list[int | None] = []
    for piece in text.split(b","):
        if piece in (b"", b"."):
            values.append(None)
        elif _INT.fullmatch(piece) is None:
            raise FallbackError
        else:
            values.append(int(piece))
    return tuple(values)
