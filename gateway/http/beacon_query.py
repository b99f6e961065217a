"""Beacon v2 ``g_variants`` requests (GET parameters or POST body) read into one query.

This is the only place where Beacon's 0-based coordinates meet allelemesh's 1-based
ones (see ARCHITECTURE.md):

* a sequence query (``referenceBases`` + ``alternateBases`` + one ``start``) is the
  variant at ``POS = start + 1``;
* a range query (``start`` + ``end``, no alleles) covers the interbase interval
  ``[start, end)``, i.e. the 1-based inclusive region ``start + 1 .. end``.

``genomicAlleleShortForm`` (any notation :func:`mesh.model.notation.parse_variant` reads,
e.g. HGVS ``NC_000001.11:g.55051215G>A``) is a sequence query too; a dbSNP rsID there
(``rs11591147``: the model's short form names one variant by a string, and has no
identifier parameter) asks for every variant the datasets record under that id. ``geneId``
(an HGNC symbol, any case, or a previous symbol or alias; ``geneid`` as the OpenAPI spells
it) is a range query over the gene's span in ``assemblyId``, which ``alternateBases`` and
``variantType`` may narrow; it cannot be combined with ``referenceName``, ``start``,
``end``, ``referenceBases`` or ``genomicAlleleShortForm``. Errors are 400
problems naming the parameter as the client sent it (``start`` for GET,
``query.requestParameters.start`` for POST).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.http.convert import JsonObject
from gateway.http.problems import ProblemError, bad_request
from gateway.http.settings import HttpSettings
from mesh.errors import InvalidArgumentError
from mesh.model.genes import GeneCatalog, ResolvedGene, shipped_gene_catalog
from mesh.model.genome import Assembly
from mesh.model.notation import parse_count, parse_variant
from mesh.model.variant_ids import is_variant_id
from mesh.model.variants import RegionKey, VariantKey, validate_region, validate_variant

GRANULARITIES = ("boolean", "count", "record")
INCLUDE_RESULTSETS = ("HIT", "MISS", "ALL", "NONE")
#: Parameters of the Beacon model that this allele-frequency Beacon cannot answer.
UNSUPPORTED = ("aminoacidChange", "variantMinLength", "variantMaxLength", "mateName")
#: What a gene query (``geneId``) may not be combined with: it is located by the gene.
_NOT_WITH_GENE = ("referenceName", "start", "end", "referenceBases", "genomicAlleleShortForm")
#: The ``variantType`` values understood, and the allele classes each one matches.
VARIANT_TYPES: dict[str, frozenset[str]] = {
    "SNP": frozenset({"SNP"}),
    "SNV": frozenset({"SNP"}),
    "MNP": frozenset({"MNP"}),
    "MNV": frozenset({"MNP"}),
    "INS": frozenset({"INS"}),
    "DEL": frozenset({"DEL"}),
    "INDEL": frozenset({"INS", "DEL", "INDEL"}),
}


@dataclass
class BeaconQuery:
    """A validated ``g_variants`` request."""

    assembly: Assembly
    granularity: str
    include: str
    skip: int
    limit: int
    dataset_ids: list[str]
    variant: VariantKey | None = None
    region: RegionKey | None = None
    #: An rsID given as ``genomicAlleleShortForm`` (lower case).
    variant_id: str | None = None
    #: A gene query's resolution (``geneId``); ``region`` is then the gene's span.
    gene: ResolvedGene | None = None
    variant_type: str | None = None
    alternate_bases: str | None = None
    filters: list[str] = field(default_factory=list)
    #: The request's ``testMode`` (echoed; this Beacon answers test requests as any other).
    test_mode: bool = False
    #: The request as received, for ``meta.receivedRequestSummary``.
    parameters: JsonObject = field(default_factory=dict)

    @property
    def located(self) -> bool:
        """Whether the request names a variant or a range (a bare ``GET`` names neither)."""
        return self.variant is not None or self.region is not None or self.variant_id is not None


def variant_class(ref: str, alt: str) -> str:
    """``SNP``, ``MNP``, ``INS``, ``DEL`` or ``INDEL`` (Beacon ``variantType``) of two alleles."""
    if len(ref) == len(alt):
        return "SNP" if len(ref) == 1 else "MNP"
    if ref and alt and (alt.startswith(ref) or alt.endswith(ref)):
        return "INS"
    if ref and alt and (ref.startswith(alt) or ref.endswith(alt)):
        return "DEL"
    return "INDEL"


def matches_type(variant_type: str | None, ref: str, alt: str) -> bool:
    """Whether alleles are of the requested ``variantType`` (any, when none was asked)."""
    if variant_type is None:
        return True
    return variant_class(ref, alt) in VARIANT_TYPES.get(variant_type, frozenset())


class _Reader:
    """Typed access to raw parameters, naming ``prefix + name`` in every error."""

    def __init__(self, raw: Mapping[str, Any], prefix: str) -> None:
        self.raw = raw
        self.prefix = prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def text(self, key: str) -> str | None:
        value = self.raw.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise bad_request(self.name(key), f"{self.name(key)} must be a string")
        return str(value).strip()

    def integers(self, key: str) -> list[int]:
        """An integer list: JSON array, repeated GET parameter or ``100,200``."""
        value = self.raw.get(key)
        if value is None or value in ("", []):
            return []
        items = value if isinstance(value, list) else [value]
        numbers: list[int] = []
        for item in items:
            parts = item.split(",") if isinstance(item, str) else [item]
            for part in parts:
                numbers.append(self._integer(key, part))
        if len(numbers) > 2:
            raise bad_request(self.name(key), f"{self.name(key)} takes one or two integers")
        return numbers

    def integer(self, key: str, default: int) -> int:
        value = self.raw.get(key)
        if value is None or value == "":
            return default
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        return self._integer(key, value)

    def _integer(self, key: str, value: object) -> int:
        try:
            return parse_count(value, self.name(key))
        except InvalidArgumentError as error:
            raise bad_request(error.field, error.message, error.reason) from None

    def strings(self, key: str) -> list[str]:
        value = self.raw.get(key)
        if value is None or value == "":
            return []
        items = value if isinstance(value, list) else [value]
        out: list[str] = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                out.append(item["id"])  # a Beacon filter object
            elif isinstance(item, str):
                out.extend(part.strip() for part in item.split(",") if part.strip())
            else:
                raise bad_request(self.name(key), f"{self.name(key)} must be a list of strings")
        return out

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key)
        if value is None:
            return default
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        raise bad_request(
            self.name(key), f"{self.name(key)} must be one of {', '.join(choices)}, got {value!r}"
        )


def parse_assembly(text: str | None, default: Assembly, field: str) -> Assembly:
    """``GRCh38``/``hg38``/``GRCh37``/``hg19`` (any case) to an :class:`Assembly`."""
    if text is None:
        return default
    aliases = {"grch38": Assembly.GRCH38, "hg38": Assembly.GRCH38}
    aliases |= {"grch37": Assembly.GRCH37, "hg19": Assembly.GRCH37}
    assembly = aliases.get(text.strip().lower())
    if assembly is None:
        raise bad_request(
            field,
            f"unknown assembly {text!r}; expected GRCh38 (hg38) or GRCh37 (hg19)",
            reason="UNKNOWN_ASSEMBLY",
        )
    return assembly


def _renamed(error: InvalidArgumentError, names: Mapping[str, str], fallback: str) -> ProblemError:
    """Re-target a validation error from a model field to the Beacon parameter."""
    last = error.field.rsplit(".", 1)[-1]
    return bad_request(names.get(last, fallback), error.message, error.reason)


def build_query(
    params: Mapping[str, Any],
    control: Mapping[str, Any],
    settings: HttpSettings,
    *,
    param_prefix: str = "",
    control_prefix: str = "",
    genes: GeneCatalog | None = None,
) -> BeaconQuery:
    """Validate ``g_variants`` request parameters and control fields (granularity, paging).

    ``genes`` resolves ``geneId`` (the gateway's catalog; without one, the shipped table).
    """
    p = _Reader(params, param_prefix)
    c = _Reader(control, control_prefix)
    for key in UNSUPPORTED:
        if p.raw.get(key) not in (None, "", []):
            raise bad_request(
                p.name(key),
                f"{key} queries are not supported by this allele-frequency Beacon; "
                "query by position and alleles, or by range",
                reason="UNSUPPORTED_PARAMETER",
            )
    limit = c.integer("limit", settings.default_limit)
    if limit == 0 or limit > settings.max_limit:
        limit = settings.max_limit if limit else settings.default_limit
    query = BeaconQuery(
        assembly=parse_assembly(
            p.text("assemblyId"), settings.default_assembly, p.name("assemblyId")
        ),
        granularity=c.choice("requestedGranularity", GRANULARITIES, "boolean"),
        include=c.choice("includeResultsetResponses", INCLUDE_RESULTSETS, "HIT"),
        skip=c.integer("skip", 0),
        limit=limit,
        dataset_ids=p.strings("datasetIds") or c.strings("datasetIds"),
        filters=c.strings("filters"),
    )
    test_mode = c.raw.get("testMode")
    if test_mode not in (None, "", True, False, "true", "false"):
        raise bad_request(c.name("testMode"), f"{c.name('testMode')} must be true or false")
    query.test_mode = test_mode in (True, "true")
    variant_type = p.text("variantType")
    if variant_type is not None:
        query.variant_type = variant_type.upper()
    gene_text = p.text("geneId") or p.text("geneid")  # the OpenAPI spells it geneid
    if gene_text is not None:
        _gene_region(query, p, gene_text, genes or shipped_gene_catalog())
    else:
        _locate(query, p, settings)
    if not query.located and c.text("requestedGranularity") is None:
        # A bare request (EGA's beacon-verifier) gets a first page of result sets: one
        # empty set per dataset of the catalogue, at record granularity.
        query.granularity = "record"
    query.parameters = {k: v for k, v in params.items() if v not in (None, "", [])}
    return query


#: Parameters that locate a query; a request with none of them asks for nothing.
_LOCATING = ("referenceName", "start", "end", "referenceBases", "alternateBases")


def _locate(query: BeaconQuery, p: _Reader, settings: HttpSettings) -> None:
    """Set the query's variant (sequence query) or region (range query).

    A request without any locating parameter (``GET /api/g_variants``, as EGA's
    beacon-verifier sends it) is valid and matches nothing.
    """
    if all(p.raw.get(k) in (None, "", []) for k in (*_LOCATING, "genomicAlleleShortForm")):
        return
    short_form = p.text("genomicAlleleShortForm")
    if short_form is not None and is_variant_id(short_form):
        query.variant_id = short_form.strip().lower()
        return
    if short_form is not None:
        query.variant = _short_form_variant(short_form, query.assembly, p, settings)
        return
    chromosome, starts, ends = _positioned(p)
    ref, alt = p.text("referenceBases"), p.text("alternateBases")
    if ref is not None and alt is not None and len(starts) == 1:
        query.variant = _sequence_variant(p, chromosome, starts[0], ref, alt, query.assembly)
        return
    query.region = _range_region(p, chromosome, starts, ends, ref, alt, query.assembly, settings)
    if alt is not None:
        query.alternate_bases = alt.upper()


def _gene_region(query: BeaconQuery, p: _Reader, text: str, genes: GeneCatalog) -> None:
    """A gene query: the gene's span as a range query (``alternateBases`` may narrow it)."""
    parameter = p.name("geneId" if p.raw.get("geneId") not in (None, "") else "geneid")
    for key in _NOT_WITH_GENE:
        if p.raw.get(key) not in (None, "", []):
            raise bad_request(
                p.name(key),
                f"{key} cannot be combined with geneId: a gene query searches the gene's "
                "span; give geneId (with alternateBases or variantType to narrow it), or "
                "a position or range without geneId",
                reason="CONFLICTING_PARAMETERS",
            )
    try:
        query.gene = genes.resolve(text, query.assembly, field=parameter)
    except InvalidArgumentError as error:
        raise bad_request(parameter, error.message, error.reason) from None
    query.region = query.gene.region
    alt = p.text("alternateBases")
    if alt is not None:
        query.alternate_bases = alt.upper()


def _short_form_variant(
    short_form: str, assembly: Assembly, p: _Reader, settings: HttpSettings
) -> VariantKey:
    """``genomicAlleleShortForm`` (any notation the mesh reads) as a variant."""
    parameter = p.name("genomicAlleleShortForm")
    try:
        reference = settings.references.get(assembly)
        return parse_variant(short_form, assembly, reference=reference, field=parameter)
    except InvalidArgumentError as error:
        raise bad_request(parameter, error.message, error.reason) from None


def _positioned(p: _Reader) -> tuple[str, list[int], list[int]]:
    """``referenceName`` and ``start`` (both required) and ``end`` (if given)."""
    chromosome = p.text("referenceName")
    if chromosome is None:
        raise bad_request(
            p.name("referenceName"),
            "referenceName is required (with start and referenceBases/alternateBases for a "
            "variant, or start and end for a range), or give genomicAlleleShortForm",
            reason="MISSING_PARAMETER",
        )
    starts, ends = p.integers("start"), p.integers("end")
    if not starts:
        raise bad_request(
            p.name("start"), "start (0-based) is required", reason="MISSING_PARAMETER"
        )
    return chromosome, starts, ends


def _sequence_variant(
    p: _Reader, chromosome: str, start: int, ref: str, alt: str, assembly: Assembly
) -> VariantKey:
    """A sequence query's variant; a validation error names the Beacon parameter."""
    names = {
        "chromosome": p.name("referenceName"),
        "position": p.name("start"),
        "reference_bases": p.name("referenceBases"),
        "alternate_bases": p.name("alternateBases"),
    }
    try:
        # Beacon start is 0-based: the VCF POS of the variant is start + 1.
        return validate_variant(chromosome, start + 1, ref, alt, assembly)
    except InvalidArgumentError as error:
        raise _renamed(error, names, p.name("start")) from None


def _range_region(
    p: _Reader,
    chromosome: str,
    starts: list[int],
    ends: list[int],
    ref: str | None,
    alt: str | None,
    assembly: Assembly,
    settings: HttpSettings,
) -> RegionKey:
    """A range query's region (0-based half-open ``[start, end)`` in, 1-based inclusive out)."""
    if len(starts) == 2 or len(ends) == 2:
        raise bad_request(
            p.name("start"),
            "bracket queries (two start or end values) are not supported; give one start and "
            "one end for a range",
            reason="UNSUPPORTED_PARAMETER",
        )
    if not ends:
        missing = "alternateBases" if ref is not None else "referenceBases"
        raise bad_request(
            p.name(missing if ref is not None or alt is not None else "end"),
            "a sequence query needs referenceBases and alternateBases; a range query needs end",
            reason="MISSING_PARAMETER",
        )
    if ends[0] <= starts[0]:
        raise bad_request(
            p.name("end"),
            f"end {ends[0]} must be greater than start {starts[0]}: Beacon ranges are 0-based "
            "and half-open, so the base at 0-based position s is start=s, end=s+1",
            reason="INVALID_REGION",
        )
    names = {"chromosome": p.name("referenceName"), "start": p.name("start"), "end": p.name("end")}
    try:
        # Interbase [start, end) is the 1-based inclusive region start+1 .. end.
        return validate_region(
            chromosome, starts[0] + 1, ends[0], assembly, max_span=settings.max_region_span
        )
    except InvalidArgumentError as error:
        raise _renamed(error, names, p.name("start")) from None
