"""gnomAD v4's per-variant summaries (``grpmax``, ``faf95``) as ``VariantFrequency.extras``.

Read only when the header declares them (:func:`extras_reader` is ``None`` otherwise,
and a file without them is built and stored exactly as before). The set read follows
the count set (``--subset``): ``grpmax_joint``/``AC_grpmax_joint``... for ``joint``,
the bare names (``grpmax``, ``AC_grpmax``, ``AN_grpmax``, ``AF_grpmax``,
``nhomalt_grpmax``, ``fafmax_faf95_max``, ``fafmax_faf95_max_gen_anc``, ``faf95`` for
the total (label ``""``), ``faf95_<g>``)
for a single-set file. Values are the source's, never recomputed; a value of ``.``
leaves that extra absent for the allele, and so does a single value (``Number=1``) on a
multi-allelic record (whose it is, is unknown). An array whose length is not the
record's ALT count (a record split by another tool) is refused: a :class:`RecordError`
naming the key, so the builder names the record (or skips and counts it with
``--on-error skip``) instead of storing it without its extras. The encoded field is
appended to the stored value after ``filters`` (field 8 after 7), which the expander
copies verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from mesh.model.wire import field_tag, len_field
from mesh.v1 import allele_pb2
from nodes.build._arrays import RecordError

_TAG = field_tag(allele_pb2.VariantFrequency, "extras")
#: FrequencyExtras field -> the INFO key's stem (the subset suffix follows it).
_SCALARS = {
    "grpmax_group": ("grpmax",),
    "grpmax_allele_count": ("AC_grpmax",),
    "grpmax_allele_number": ("AN_grpmax",),
    "grpmax_allele_frequency": ("AF_grpmax",),
    "grpmax_homozygous_count": ("nhomalt_grpmax",),
    "faf95_max": ("fafmax_faf95_max", "faf95_max"),
    "faf95_max_group": ("fafmax_faf95_max_gen_anc", "faf95_max_gen_anc"),
}
_INTEGER = {"grpmax_allele_count", "grpmax_allele_number", "grpmax_homozygous_count"}
_TEXT = {"grpmax_group", "faf95_max_group"}
#: ``faf95_<x>`` keys whose ``x`` is no group: the sets, and v3's ``faf95_popmax`` (a maximum).
_NOT_GROUPS = frozenset({"max", "joint", "exomes", "genomes", "popmax"})


class ExtrasReader:
    """Per allele, the encoded ``extras`` field of one record (``b""``: none)."""

    def __init__(self, scalars: dict[str, str], faf95: dict[str, str]) -> None:
        #: FrequencyExtras field -> INFO key; group label -> INFO key of its faf95.
        self.scalars = scalars
        self.faf95 = faf95
        self.keys = (*scalars.values(), *faf95.values())

    def alleles(self, info: Mapping[str, Any], n_alt: int) -> list[bytes]:
        """The field for each of the record's ``n_alt`` alleles, from pysam's ``rec.info``."""
        out = [allele_pb2.FrequencyExtras() for _ in range(n_alt)]
        for name, key in self.scalars.items():
            for a, value in _per_allele(info, key, n_alt):
                setattr(out[a], name, _typed(name, value))
        for label, key in self.faf95.items():
            for a, value in _per_allele(info, key, n_alt):
                out[a].faf95[label] = float(value)
        return [len_field(_TAG, e.SerializeToString()) if e.ListFields() else b"" for e in out]


def _per_allele(info: Mapping[str, Any], key: str, n_alt: int) -> Iterable[tuple[int, Any]]:
    if key not in info:
        return ()
    value = info[key]
    if not isinstance(value, tuple):
        if n_alt != 1:
            return ()  # a Number=1 summary: only a one-allele record says whose it is
        value = (value,)
    if len(value) != n_alt:
        raise RecordError(
            f"{key} has {len(value)} values but ALT has {n_alt} allele"
            f"{'s' if n_alt != 1 else ''} (its extras cannot be told apart per allele)"
        )
    return ((a, v) for a, v in enumerate(value) if v is not None)


def _typed(name: str, value: Any) -> Any:
    if name in _TEXT:
        return str(value)
    return int(value) if name in _INTEGER else float(value)


def extras_reader(info_keys: Iterable[str], subset: str) -> ExtrasReader | None:
    """The reader for a header's extras of count set ``subset`` (``""``: unsuffixed)."""
    keys = set(info_keys)
    suffix = f"_{subset}" if subset else ""
    scalars = {}
    for name, stems in _SCALARS.items():
        found = next((s + suffix for s in stems if s + suffix in keys), None)
        if found is not None:
            scalars[name] = found
    # faf95_<g> (single set) or faf95_<set>_<g> (gnomAD v4 joint style); not the maxima.
    pattern = re.compile(rf"^faf95{re.escape(suffix)}_([a-z]+)$")
    faf95 = {
        m.group(1): k
        for k in sorted(keys)
        if (m := pattern.match(k)) and m.group(1) not in _NOT_GROUPS
    }
    if "faf95" + suffix in keys:  # the total's own
        faf95[""] = "faf95" + suffix
    if not scalars and not faf95:
        return None
    return ExtrasReader(scalars, faf95)
