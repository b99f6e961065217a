"""Allele counts from the INFO fields of a sites VCF, whichever convention wrote them.

The convention is recognized from the header (no flags needed) and recorded in the
dataset metadata. Every convention is reduced to one shape: a *total* group and
named population groups, each with INFO keys for AC, AN and optionally homozygous,
heterozygous and hemizygous counts. Population labels are GDI style: a population or
country code, ``_M``/``_F`` for a sex, ``M``/``F`` alone for a sex over everybody.

Conventions, in detection order:

``exac`` (ExAC, gnomAD v2.0)
    totals ``AC_Adj``/``AN_Adj``/``AC_Hom``/``AC_Hemi`` (``AC_Het`` not: see below); populations
    ``AC_<POP>``/``AN_<POP>``/``Hom_<POP>``/``Hemi_<POP>`` (``AFR`` → ``AFR``);
    sexes ``AC_MALE``/``AC_Male`` → ``M``, ``AC_FEMALE``/``AC_Female`` → ``F``.
``gnomad`` (gnomAD v2.1, v3, v4)
    totals ``AC``/``AN``/``nhomalt``/``nhemi``; populations ``AC_<pop>``/``AN_<pop>``/
    ``nhomalt_<pop>`` for the gnomAD population codes (``afr`` → ``AFR``); sexes
    ``_XY``/``_male`` → ``M`` and ``_XX``/``_female`` → ``F`` (``AC_afr_XY`` → ``AFR_M``).
    Subsets (``joint``, ``non_ukb``, ``raw``, ``grpmax`` ...) are ignored.
``gdi`` (GDI / 1+MG country files, as GDI's own VCF-to-node writer names them)
    totals ``AC``/``AN`` with ``AC_Het``/``AC_Hom``/``AC_Hemi``; groups
    ``AC_<L>``/``AN_<L>`` with ``AC_<L>_Het``/``AC_<L>_Hom``/``AC_<L>_Hemi``, ``L`` a
    two- or three-letter country or population code with optional ``_M``/``_F``
    (``NO``, ``NO_M``, ``AFR_M``) or ``M``/``F``. A label may give only ``AF_<L>``
    (no ``AC_<L>``/``AN_<L>``): its row then has the frequency and no counts.
``gnomad-<set>`` (gnomAD v4 joint files): one set of ``joint``/``exomes``/``genomes``
    (``--subset``), ``AC_<set>``, ``AC_<set>_<pop>_<sex>`` ...; sets never mixed.
``basic``
    ``AC``/``AN`` only (e.g. ``bcftools +fill-tags``); no populations.
``gdi-frequencies``: only ``AF``/``AF_<L>`` (all GDI's writer requires): frequencies.
``allelemesh`` (``allelemesh hail export``)
    declared, not detected: a ``##allelemesh_groups=`` header line lists the groups,
    whose keys are ``AC_<L>``/``AN_<L>``/``nhomalt_<L>``/``nhet_<L>``/``nhemi_<L>``.

Homozygous keys are ``nhomalt_<L>``, ``HOM_<L>``, ``Hom_<L>``, ``AC_<L>_Hom``
(totals: ``nhomalt``, ``HOM``, ``AC_Hom``), hemizygous ``nhemi_<L>``, ``HEMI_<L>``,
``Hemi_<L>``, ``AC_<L>_Hemi`` (totals ``nhemi``, ``HEMI``, ``AC_Hemi``), heterozygous
``nhet_<L>``, ``HET_<L>``, ``AC_<L>_Het`` (totals ``nhet``, ``HET``, ``AC_Het``).

A count the file does not give is :data:`ABSENT` (``-1``) in :data:`Counts`, and
absent from every answer, never 0; a 0 in the file is a 0. Derived counts
(documented rule):

* heterozygous = AC - 2 * homozygous - hemizygous (hemizygous taken as 0 when not
  given: outside haploid regions nobody is hemizygous) when not given (ExAC's
  ``AC_Het``, one value per heterozygous genotype, sums to it), and absent when the
  homozygous count is not in the file either; a hemizygous count not given is absent;
* on X outside the pseudo-autosomal regions and on Y (males are haploid there), a
  male group (``M``, ``*_M``) has hemizygous = its hemizygous key if present, else
  its AC, and no homozygous/heterozygous calls (gnomAD counts hemizygous males as
  ``nhomalt_XY``). A mixed group whose male part is in the file takes hemizygous =
  its hemizygous key if present, else the male part's AC; without a hemizygous key
  its homozygous count excludes the male part's (which were hemizygotes).

``--info-map FILE`` replaces detection with an explicit TOML map::

    [total]                 # required
    ac = "AC"               # Number=A INFO keys (per ALT allele)
    an = "AN"               # Number=1 (shared by all ALT alleles)
    hom = "nhomalt"         # optional: hom, het, hemi
    hemi = "nhemi"

    [populations.NO_M]      # any number; the table name is the GDI label
    ac = "AC_NOR_male"
    an = "AN_NOR_male"
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mesh.errors import IndexBuildError
from nodes.build._arrays import AlleleMap, frequencies, per_allele, scalar
from nodes.build._arrays import RecordError as RecordError  # noqa: PLC0414 (re-exported)

#: One allele's counts in one group: AC, AN, homozygous, heterozygous, hemizygous
#: (:data:`ABSENT` where the source gave none), and, only for a group whose source
#: gave a frequency but no AC/AN, that frequency as a sixth item.
Counts = tuple[int, ...] | tuple[int, int, int, int, int, float]
#: A count the source did not give.
ABSENT = -1

GNOMAD_POPULATIONS = frozenset(
    {"afr", "ami", "amr", "asj", "eas", "fin", "mid", "nfe", "oth", "remaining", "sas"}
)
EXAC_POPULATIONS = frozenset({"AFR", "AMR", "ASJ", "EAS", "FIN", "NFE", "OTH", "SAS"})
_GNOMAD_SEX = {"XY": "M", "XX": "F", "male": "M", "female": "F"}
_EXAC_SEX = {"MALE": "M", "Male": "M", "FEMALE": "F", "Female": "F"}
_GDI_LABEL = re.compile(r"^(?:[A-Z]{2,3}(?:_[MF])?|[MF])$")
_HOM = ("nhomalt_{}", "HOM_{}", "Hom_{}", "AC_{}_Hom")
_HET = ("nhet_{}", "HET_{}", "AC_{}_Het")
_HEMI = ("nhemi_{}", "HEMI_{}", "Hemi_{}", "AC_{}_Hemi")


@dataclass(frozen=True, slots=True)
class CountFields:
    """The INFO keys holding one group's counts (``None``: not in the file).

    ``ac``/``an`` are ``None`` only for a group given by its frequency ``af`` alone.
    """

    ac: str | None
    an: str | None
    hom: str | None = None
    het: str | None = None
    hemi: str | None = None
    af: str | None = None


@dataclass(frozen=True)
class InfoConvention:
    """How a file's INFO fields map onto groups; ``groups[0]`` is the total (label ``""``)."""

    name: str
    groups: tuple[tuple[str, CountFields], ...]

    @property
    def populations(self) -> list[str]:
        """The population labels, sorted."""
        return [label for label, _ in self.groups[1:]]


def is_male(label: str) -> bool:
    """Whether a GDI label names males only."""
    return label == "M" or label.endswith("_M")


def male_part(label: str) -> str:
    """The label of a group's male subgroup."""
    return f"{label}_M" if label else "M"


def _first(keys: frozenset[str], candidates: Iterable[str]) -> str | None:
    return next((k for k in candidates if k in keys), None)


def _group(
    keys: frozenset[str], ac: str, an: str, suffix: str, extra: dict[str, tuple[str, ...]]
) -> CountFields | None:
    if ac not in keys or an not in keys:
        return None
    return CountFields(
        ac,
        an,
        hom=_first(keys, (p.format(suffix) for p in extra.get("hom", _HOM))),
        het=_first(keys, (p.format(suffix) for p in extra.get("het", _HET))),
        hemi=_first(keys, (p.format(suffix) for p in extra.get("hemi", _HEMI))),
    )


def _total(keys: frozenset[str], ac: str, an: str, subset: str = "") -> CountFields:
    if subset:  # gnomAD v4 joint files: nhomalt_joint, nhemi_joint
        return _group(keys, ac, an, subset, {}) or CountFields(ac, an)
    return CountFields(
        ac,
        an,
        hom=_first(keys, ("nhomalt", "HOM", "AC_Hom")),
        het=_first(keys, ("nhet", "HET", "AC_Het")),
        hemi=_first(keys, ("nhemi", "HEMI", "AC_Hemi")),
    )


#: The count sets of a gnomAD v4 joint file (``AC_joint``, ``AC_exomes_afr_XX``, ...).
SUBSETS = ("joint", "exomes", "genomes")


def subsets_of(info_keys: Iterable[str]) -> list[str]:
    """The gnomAD v4 count sets a header holds (``AC_<set>`` and ``AN_<set>``), in order."""
    keys = frozenset(info_keys)
    return [s for s in SUBSETS if f"AC_{s}" in keys and f"AN_{s}" in keys]


def detect_convention(info_keys: Iterable[str], subset: str = "") -> InfoConvention | None:
    """Recognize the INFO convention of a header; ``None`` when it holds no AC/AN.

    ``subset`` picks one count set of a gnomAD v4 joint file (:data:`SUBSETS`); without
    it such a file (no bare ``AC``/``AN``) is read for its first set present, ``joint``
    when it has one. The sets are never mixed.
    """
    keys = frozenset(info_keys)
    groups: dict[str, CountFields] = {}
    sets = subsets_of(keys)
    if subset and subset not in sets:
        raise IndexBuildError(
            f"--subset {subset}: the header has no AC_{subset}/AN_{subset} "
            f"(count sets here: {', '.join(sets) or 'none'})"
        )
    if sets and (subset or not ("AC" in keys and "AN" in keys)):
        chosen = subset or sets[0]
        total = _total(keys, f"AC_{chosen}", f"AN_{chosen}", chosen)
        for pop in (*GNOMAD_POPULATIONS, ""):
            for sex in ("", *_GNOMAD_SEX):
                suffix = "_".join(p for p in (chosen, pop, sex) if p)
                fields = (
                    _group(keys, f"AC_{suffix}", f"AN_{suffix}", suffix, {}) if pop or sex else None
                )
                if fields:
                    label = "_".join(p for p in (pop.upper(), _GNOMAD_SEX.get(sex, "")) if p)
                    groups[label] = fields
        return InfoConvention(f"gnomad-{chosen}", (("", total), *sorted(groups.items())))
    if "AC_Adj" in keys and "AN_Adj" in keys:
        # AC_Het: one value per het genotype (0/1, 0/2, 1/2...) despite Number=A; derived.
        name, total = "exac", replace(_total(keys, "AC_Adj", "AN_Adj"), het=None)
        for pop in EXAC_POPULATIONS:
            fields = _group(keys, f"AC_{pop}", f"AN_{pop}", pop, {"het": ()})
            if fields:
                groups[pop] = fields
        for sex, label in _EXAC_SEX.items():
            fields = _group(keys, f"AC_{sex}", f"AN_{sex}", sex, {})
            if fields and label not in groups:
                groups[label] = fields
    elif "AC" in keys and "AN" in keys:
        total = _total(keys, "AC", "AN")
        for pop in (*GNOMAD_POPULATIONS, ""):
            for sex in ("", *_GNOMAD_SEX):
                suffix = "_".join(p for p in (pop, sex) if p)
                fields = (
                    _group(keys, f"AC_{suffix}", f"AN_{suffix}", suffix, {}) if suffix else None
                )
                if fields:
                    label = "_".join(p for p in (pop.upper(), _GNOMAD_SEX.get(sex, "")) if p)
                    groups[label] = fields
        name = "gnomad" if groups else "basic"
        if not groups:
            for key in keys:
                label = key[3:]
                if key.startswith("AC_") and _GDI_LABEL.match(label):
                    fields = _group(keys, key, f"AN_{label}", label, {})
                    if fields:
                        groups[label] = fields
            for key in keys:
                label = key[3:]
                if key.startswith("AF_") and _GDI_LABEL.match(label) and label not in groups:
                    groups[label] = CountFields(None, None, af=key)
            name = "gdi" if groups else "basic"
    elif "AF" in keys:
        # GDI's writer requires only AF / AF_<L>: frequencies, no counts (never invented).
        name, total = "gdi-frequencies", CountFields(None, None, af="AF")
        for key in keys:
            label = key[3:]
            if key.startswith("AF_") and _GDI_LABEL.match(label):
                if f"AC_{label}" in keys and f"AN_{label}" in keys:
                    groups[label] = _group(
                        keys, key.replace("AF_", "AC_", 1), f"AN_{label}", label, {}
                    )  # type: ignore[assignment]
                else:
                    groups[label] = CountFields(None, None, af=key)
    else:
        return None
    return InfoConvention(name, (("", total), *sorted(groups.items())))


#: A header line ``##allelemesh_groups=NO,NO_F,NO_M`` declares the groups of a file that
#: ``allelemesh hail export`` wrote (keys ``AC``/``AN``/``nhomalt``/``nhet``/``nhemi``,
#: suffixed ``_<label>`` per group): read by :func:`declared_convention`, never guessed.
GROUPS_HEADER_KEY = "allelemesh_groups"


def declared_convention(value: str, info_keys: Iterable[str]) -> InfoConvention:
    """The convention a ``##allelemesh_groups=`` header line declares (keys checked)."""
    labels = [label.strip() for label in value.split(",") if label.strip()]
    groups = [
        (label, CountFields(*(f"{p}_{label}" if label else p
                              for p in ("AC", "AN", "nhomalt", "nhet", "nhemi"))))
        for label in ("", *labels)
    ]  # fmt: skip
    convention = InfoConvention("allelemesh", tuple(groups))
    check_header(convention, info_keys)
    return convention


def load_info_map(path: Path) -> InfoConvention:
    """Read an ``--info-map`` TOML file (format in the module docstring)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise IndexBuildError(f"info map {path}: {exc}") from exc
    if not isinstance(data.get("total"), dict):
        raise IndexBuildError(f"info map {path}: a [total] table with ac and an is required")
    groups = [("", _fields_from_toml(path, "total", data["total"]))]
    populations = data.get("populations", {})
    if not isinstance(populations, dict):
        raise IndexBuildError(f"info map {path}: populations must be a table of tables")
    for label, table in sorted(populations.items()):
        groups.append((label, _fields_from_toml(path, f"populations.{label}", table)))
    return InfoConvention("info-map", tuple(groups))


def _fields_from_toml(path: Path, where: str, table: Any) -> CountFields:
    allowed = {"ac", "an", "hom", "het", "hemi", "af"}
    if not isinstance(table, dict):
        raise IndexBuildError(f"info map {path}: {where} must be a table")
    unknown = set(table) - allowed
    if unknown:
        raise IndexBuildError(f"info map {path}: {where}: unknown keys {sorted(unknown)}")
    if not all(isinstance(v, str) for v in table.values()):
        raise IndexBuildError(f"info map {path}: {where}: values must be INFO key strings")
    if where == "total" and ("ac" not in table or "an" not in table):
        raise IndexBuildError(f"info map {path}: {where}: ac and an are required")
    if ("ac" in table) != ("an" in table) or ("ac" not in table and "af" not in table):
        raise IndexBuildError(f"info map {path}: {where}: give ac and an, or af alone")
    return CountFields(
        table.get("ac"), table.get("an"), table.get("hom"), table.get("het"),
        table.get("hemi"), table.get("af")
    )  # fmt: skip


def check_header(convention: InfoConvention, info_keys: Iterable[str]) -> None:
    """Raise if a header lacks a key the convention (e.g. an info map) names."""
    keys = set(info_keys)
    for label, fields in convention.groups:
        for key in (fields.ac, fields.an, fields.hom, fields.het, fields.hemi, fields.af):
            if key is not None and key not in keys:
                raise IndexBuildError(f"INFO {key} (group {label or 'total'}) not in the header")


class InfoCounter:
    """Reads one record's per-allele, per-group counts; built once per header."""

    def __init__(
        self,
        convention: InfoConvention,
        header_keys: Iterable[str] = (),
        numbers: dict[str, str] | None = None,
    ) -> None:
        self.convention = convention
        #: Declared ``Number`` of each key (default ``A``, ``1`` for AN keys).
        self._numbers = numbers or {}
        self.labels: tuple[str, ...] = tuple(label for label, _ in convention.groups)
        self._fields = [fields for _, fields in convention.groups]
        index = {label: i for i, label in enumerate(self.labels)}
        # Per group: (is male, index of its male part or -1), for haploid regions.
        self._male = [
            (is_male(label), index.get(male_part(label), -1) if not is_male(label) else -1)
            for label in self.labels
        ]
        self._keys = [(f.ac, f.an, f.hom, f.het, f.hemi) for f in self._fields]
        #: Per group: its AF key when the group is given by its frequency alone.
        self._af_only = [f.af if f.ac is None else None for f in self._fields]
        needed = {k for keys in self._keys for k in keys if k} | {k for k in self._af_only if k}
        an_keys = {f.an for f in self._fields}
        #: Every per-allele key Number=A and AN keys Number=1: the fast path may take them.
        self.plain = self._plain = all(  # Number=. read as A when its length fits
            self._numbers.get(k, "1") == "1" if k in an_keys else self._numbers.get(k, "A") in "A."
            for k in needed
        )
        #: Decode every INFO field at once when most of them are needed: one
        #: ``info.items()`` costs ~0.1 µs a field, one ``info.get`` ~0.35 µs.
        self.bulk = len(needed) * 2 >= len(set(header_keys)) if header_keys else False

    def needed_keys(self) -> tuple[str, ...]:
        """Every INFO key :meth:`count` reads, each once, in group order."""
        keys = [k for keys in self._keys for k in keys if k]
        return tuple(dict.fromkeys([*keys, *(k for k in self._af_only if k)]))

    def count(
        self, info: Any, n_alt: int, haploid_males: bool, remap: AlleleMap | None = None
    ) -> list[list[Counts | None]]:
        """Return ``counts[allele][group]`` (``None``: population absent in this record).

        ``remap`` (:func:`nodes.build._arrays.allele_map`): the record was split by vt and its
        arrays are in the original record's allele order.
        """
        if self.bulk:
            info = dict(info.items())
        get = info.get
        raw: list[tuple[Any, ...] | None] = []
        af_only = self._af_only
        numbers = self._numbers
        plain = self._plain
        for i, (k_ac, k_an, k_hom, k_het, k_hemi) in enumerate(self._keys):
            if k_ac is None:
                key = af_only[i]
                value = get(key) if key else None
                if value is None or _all_missing(value):  # "." alone: nobody called here
                    if i == 0:
                        raise RecordError(f"{key} is missing ('.' or not given): no total")
                    raw.append(None)
                    continue
                raw.append(frequencies(str(key), value, n_alt, numbers.get(str(key), "A"), remap))
                continue
            ac = get(k_ac)
            an = get(k_an)
            hom = get(k_hom) if k_hom else None
            if (
                plain
                and type(ac) is tuple
                and len(ac) == n_alt
                and type(an) is int
                and None not in ac
            ):
                # Fast path: the shapes are right (checked in full only when they are not).
                # (``nhomalt=.`` used to crash here: a missing value is a record error.)
                if hom is not None and (type(hom) is not tuple or len(hom) != n_alt or None in hom):
                    hom = per_allele(str(k_hom), hom, n_alt, "A", remap)
            elif ac is None or an is None or _all_missing(ac):
                # A group whose AC or AN is not in the record, or is "." (every value):
                # unknown here, so absent from this record (documented tolerance).
                if i == 0:
                    missing = k_ac if ac is None or _all_missing(ac) else k_an
                    raise RecordError(f"{missing} is missing ('.' or not given): no total count")
                raw.append(None)
                continue
            else:
                ac = per_allele(k_ac, ac, n_alt, numbers.get(k_ac, "A"), remap)
                an = scalar(str(k_an), an)
                hom = _optional(info, k_hom, n_alt, numbers.get(str(k_hom), "A"), remap)
            het = (
                _optional(info, k_het, n_alt, numbers.get(str(k_het), "A"), remap)
                if k_het
                else None
            )
            hemi = (
                _optional(info, k_hemi, n_alt, numbers.get(str(k_hemi), "A"), remap)
                if k_hemi
                else None
            )
            raw.append((ac, an, hom, het, hemi))
        result: list[list[Counts | None]] = []
        one = self._one
        for a in range(n_alt):
            row: list[Counts | None] = []
            for g, values in enumerate(raw):
                if values is None:
                    row.append(None)
                    continue
                if len(values) == 1:  # a frequency alone
                    row.append((ABSENT, ABSENT, ABSENT, ABSENT, ABSENT, values[0][a]))
                    continue
                ac_v, an, hom_v, het_v, hemi_v = values
                ac = ac_v[a]
                if het_v is None and hemi_v is None and hom_v is not None and not haploid_males:
                    hom = hom_v[a]
                    het = ac - 2 * hom
                    if het >= 0 and ac <= an and hom >= 0:
                        row.append((ac, an, hom, het, ABSENT))
                        continue
                row.append(one(g, a, values, raw, haploid_males))
            result.append(row)
        return result

    def _one(
        self, g: int, a: int, values: tuple[Any, ...], raw: list[Any], haploid_males: bool
    ) -> Counts:
        ac_v, an, hom_v, het_v, hemi_v = values
        fields = self._fields[g]
        ac = ac_v[a]
        hom = hom_v[a] if hom_v is not None else None
        hemi = hemi_v[a] if hemi_v is not None else None
        if ac > an:
            raise RecordError(f"{fields.ac} {ac} > {fields.an} {an}")
        if (hom is not None and hom < 0) or (hemi is not None and hemi < 0) or ac < 0:
            raise RecordError(f"negative count in {fields.ac}/{fields.hom}/{fields.hemi}")
        if haploid_males:
            male, part = self._male[g]
            if male:
                hemi = hemi_v[a] if hemi_v is not None else ac
                return (ac, an, 0, 0, hemi)
            part_values = raw[part] if part >= 0 else None
            if part_values is not None and len(part_values) > 1 and hemi_v is None:
                hemi = part_values[0][a]
                if hom is not None and part_values[2] is not None:
                    hom = max(0, hom - part_values[2][a])
        het: int | None
        if het_v is not None:
            het = het_v[a]
        elif hom is not None:
            het = ac - 2 * hom - (hemi or 0)
            if het < 0:
                raise RecordError(
                    f"{fields.hom} {hom} and hemizygous {hemi} exceed {fields.ac} {ac}"
                )
        else:
            het = None
        return (
            ac,
            an,
            ABSENT if hom is None else hom,
            ABSENT if het is None else het,
            ABSENT if hemi is None else hemi,
        )


def _all_missing(value: Any) -> bool:
    """``.`` for every value (pysam: ``(None, ...)``)."""
    return type(value) is tuple and all(v is None for v in value)


def _optional(
    info: Any, key: str | None, n_alt: int, number: str, remap: AlleleMap | None
) -> Sequence[int] | None:
    if key is None:
        return None
    value = info.get(key)
    return None if value is None else per_allele(key, value, n_alt, number, remap)
