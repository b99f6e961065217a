"""One ``mesh.v1.VariantFrequency`` as a Beacon v2 ``genomicVariation`` record.

* ``variation`` is a ``LegacyVariation``: VCF-style alleles and ``variantType`` with a
  VRS 1.3 ``SequenceLocation`` (interbase, on the RefSeq accession), which the
  default schema accepts and which keeps the alleles exactly as queried.
* ``frequencyInPopulations`` has one entry per record (the dataset it came from),
  whose ``frequencies`` carry the GDI fields ``alleleCount``, ``alleleNumber``,
  ``alleleCountHomozygous``, ``alleleCountHeterozygous`` and ``alleleCountHemizygous``.
* Population labels are GDI style: the dataset-wide counts are ``<CC>`` (the node's
  country), a bare ``M``/``F`` group becomes ``<CC>_M``/``<CC>_F``, other labels
  (``NO_M``, ``AFR``) are kept.
* Privacy: a suppressed group (counts withheld, all zero) is left out of
  ``frequencies`` rather than shown as a zero count, and named in the record's
  ``info``; rounded counts are marked ``countPrecision: "rounded"``.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.http.beacon_query import variant_class
from gateway.http.convert import JsonObject, filter_values
from mesh.genome import Assembly, refseq_accession
from mesh.v1 import allele_pb2

_PRECISION = {
    allele_pb2.COUNT_PRECISION_UNSPECIFIED: "exact",
    allele_pb2.COUNT_PRECISION_EXACT: "exact",
    allele_pb2.COUNT_PRECISION_ROUNDED: "rounded",
    allele_pb2.COUNT_PRECISION_SUPPRESSED: "suppressed",
}


def precision_of(counts: allele_pb2.AlleleCounts) -> str:
    """``exact``, ``rounded`` or ``suppressed``."""
    return _PRECISION.get(counts.precision, "exact")


def variant_internal_id(variant: allele_pb2.Variant, assembly: Assembly) -> str:
    """``GRCh38:1-55051215-G-GA``: unique within this Beacon across assemblies."""
    v = variant
    return f"{assembly}:{v.chromosome}-{v.position}-{v.reference_bases}-{v.alternate_bases}"


def variation(variant: allele_pb2.Variant, assembly: Assembly) -> JsonObject:
    """The ``LegacyVariation`` of a variant; the VRS interval is 0-based interbase."""
    start = int(variant.position) - 1
    return {
        "variantType": variant_class(variant.reference_bases, variant.alternate_bases),
        "referenceBases": variant.reference_bases,
        "alternateBases": variant.alternate_bases,
        "location": {
            "type": "SequenceLocation",
            "sequence_id": f"refseq:{refseq_accession(variant.chromosome, assembly)}",
            "interval": {
                "type": "SequenceInterval",
                "start": {"type": "Number", "value": start},
                "end": {"type": "Number", "value": start + len(variant.reference_bases)},
            },
        },
    }


def identifiers(variant: allele_pb2.Variant, assembly: Assembly) -> JsonObject:
    """HGVS of substitutions (other kinds need the reference to be written correctly)."""
    ref, alt = variant.reference_bases, variant.alternate_bases
    if len(ref) != 1 or len(alt) != 1:
        return {}
    accession = refseq_accession(variant.chromosome, assembly)
    return {"genomicHGVSId": f"{accession}:g.{variant.position}{ref}>{alt}"}


def population_label(label: str, country: str) -> str:
    """The GDI label of a population row (``M`` → ``<CC>_M``)."""
    if country and label in ("M", "F"):
        return f"{country}_{label}"
    return label


def frequency_entry(population: str, counts: allele_pb2.AlleleCounts) -> JsonObject:
    """One ``frequencies[]`` entry with the GDI count fields."""
    return {
        "population": population,
        "alleleFrequency": float(counts.allele_frequency),
        "alleleCount": int(counts.allele_count),
        "alleleNumber": int(counts.allele_number),
        "alleleCountHomozygous": int(counts.homozygous_count),
        "alleleCountHeterozygous": int(counts.heterozygous_count),
        "alleleCountHemizygous": int(counts.hemizygous_count),
        "countPrecision": precision_of(counts),
    }


def _groups(
    frequency: allele_pb2.VariantFrequency,
) -> Iterable[tuple[str, allele_pb2.AlleleCounts]]:
    """(GDI label, counts) of the dataset-wide counts and every population row."""
    country = frequency.country
    rows = [(population_label(p.population, country), p.counts) for p in frequency.populations]
    labels = {label for label, _ in rows}
    overall = country or frequency.dataset_id
    # A file with its own <CC> group (GDI convention) already names the whole dataset.
    if overall not in labels:
        yield overall, frequency.counts
    yield from rows


def record(
    frequency: allele_pb2.VariantFrequency,
    assembly: Assembly,
    *,
    source: str,
    source_reference: str,
) -> JsonObject:
    """The ``genomicVariation`` record of one dataset's counts of one variant."""
    entries: list[JsonObject] = []
    suppressed: list[str] = []
    for label, counts in _groups(frequency):
        if precision_of(counts) == "suppressed":
            suppressed.append(label)
        else:
            entries.append(frequency_entry(label, counts))
    result: JsonObject = {
        "variantInternalId": variant_internal_id(frequency.variant, assembly),
        "variation": variation(frequency.variant, assembly),
    }
    ids = identifiers(frequency.variant, assembly)
    if ids:
        result["identifiers"] = ids
    if entries:
        result["frequencyInPopulations"] = [
            {
                "source": source,
                "sourceReference": source_reference,
                "version": frequency.dataset_id,
                "frequencies": entries,
            }
        ]
    info: JsonObject = {
        "datasetId": frequency.dataset_id,
        "nodeId": frequency.node_id,
        "country": frequency.country,
        "filters": filter_values(frequency),
    }
    if suppressed:
        info["suppressedPopulations"] = suppressed
        info["note"] = (
            "counts of the suppressed populations are withheld by the dataset's privacy "
            "policy; they are not zero"
        )
    result["info"] = info
    return result
