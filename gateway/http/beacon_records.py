"""One ``mesh.v1.VariantFrequency`` as a Beacon v2 ``genomicVariation`` record.

* ``variation`` is a ``LegacyVariation``: VCF-style alleles and ``variantType`` with a
  VRS 1.3 ``SequenceLocation`` (interbase), which the default schema accepts and
  which keeps the alleles exactly as queried.
* ``frequencyInPopulations`` has one entry per record (the dataset it came from),
  whose ``frequencies`` carry the GDI fields ``alleleCount``, ``alleleNumber``,
  ``alleleCountHomozygous``, ``alleleCountHeterozygous`` and ``alleleCountHemizygous``.
* Population labels arrive exactly as the dataset defines them (``M``, ``F``, ``FR``,
  ``FR_M``, ``AFR_M``): the GDI portal filters rows by exact label, so nothing is
  prefixed or merged. The dataset-wide counts are the ``Total`` row, as GDI nodes
  answer it.
* A count the dataset did not give is left out of its row (the key is absent), never
  written as 0; a 0 means zero.
* ``variation.location.sequence_id`` is ``HGVSid:<chrom>:g.<pos><ref>><alt>`` (what the
  portal parses), ``identifiers.genomicHGVSId`` the RefSeq form.
* gnomAD's grpmax/faf95 (``VariantFrequency.extras``, released only with exact counts)
  ride on the ``frequencyInPopulations`` entry as ``extras`` (camelCase keys; the
  schema's ``FrequencyInPopulations`` allows additional properties).
* Privacy: a suppressed group (counts withheld, all zero) is left out of
  ``frequencies`` rather than shown as a zero count, and named in the record's
  ``info``; rounded counts are marked ``countPrecision: "rounded"``.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.http.beacon_query import variant_class
from gateway.http.convert import JsonObject, filter_values
from mesh.model.genome import Assembly, refseq_accession
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
            "sequence_id": hgvs_sequence_id(variant),
            "interval": {
                "type": "SequenceInterval",
                "start": {"type": "Number", "value": start},
                "end": {"type": "Number", "value": start + len(variant.reference_bases)},
            },
        },
    }


def hgvs_sequence_id(variant: allele_pb2.Variant) -> str:
    """``HGVSid:21:g.9411239G>A``: the form the GDI portal parses (VCF alleles, 1-based)."""
    v = variant
    return f"HGVSid:{v.chromosome}:g.{v.position}{v.reference_bases}>{v.alternate_bases}"


def identifiers(variant: allele_pb2.Variant, assembly: Assembly) -> JsonObject:
    """HGVS of substitutions (other kinds need the reference to be written correctly)."""
    ref, alt = variant.reference_bases, variant.alternate_bases
    if len(ref) != 1 or len(alt) != 1:
        return {}
    accession = refseq_accession(variant.chromosome, assembly)
    return {"genomicHGVSId": f"{accession}:g.{variant.position}{ref}>{alt}"}


def dbsnp_reference(rsid: str) -> JsonObject:
    """An ``externalReference`` to a dbSNP id (``identifiers.variantAlternativeIds``)."""
    return {
        "id": f"dbSNP:{rsid}",
        "reference": f"https://www.ncbi.nlm.nih.gov/snp/{rsid}",
        "notes": "dbSNP id",
    }


#: The label of the dataset-wide row (GDI nodes answer their totals under it).
TOTAL_LABEL = "Total"
#: Beacon key of each ``AlleleCounts`` count field, in the order rows show them.
_COUNT_KEYS = (
    ("allele_frequency", "alleleFrequency", float),
    ("allele_count", "alleleCount", int),
    ("allele_number", "alleleNumber", int),
    ("homozygous_count", "alleleCountHomozygous", int),
    ("heterozygous_count", "alleleCountHeterozygous", int),
    ("hemizygous_count", "alleleCountHemizygous", int),
)


def frequency_entry(population: str, counts: allele_pb2.AlleleCounts) -> JsonObject:
    """One ``frequencies[]`` entry with the GDI count fields the dataset gave."""
    entry: JsonObject = {"population": population}
    for name, key, kind in _COUNT_KEYS:
        if counts.HasField(name):  # type: ignore[arg-type]
            entry[key] = kind(getattr(counts, name))
    entry["countPrecision"] = precision_of(counts)
    return entry


def _groups(
    frequency: allele_pb2.VariantFrequency,
) -> Iterable[tuple[str, allele_pb2.AlleleCounts]]:
    """(label, counts) of the ``Total`` row and every population row, labels unchanged."""
    if not any(p.population == TOTAL_LABEL for p in frequency.populations):
        yield TOTAL_LABEL, frequency.counts
    for p in frequency.populations:
        yield p.population, p.counts


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
    no_frequency: list[str] = []
    for label, counts in _groups(frequency):
        if precision_of(counts) == "suppressed":
            suppressed.append(label)
        elif not counts.HasField("allele_frequency"):
            # Beacon requires alleleFrequency in a row; with AN 0 or unknown there is none.
            no_frequency.append(label)
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
                **_extras(frequency),
            }
        ]
    info: JsonObject = {
        "datasetId": frequency.dataset_id,
        "nodeId": frequency.node_id,
        "country": frequency.country,
        "filters": filter_values(frequency),
    }
    if no_frequency:
        info["populationsWithoutFrequency"] = no_frequency
    if suppressed:
        info["suppressedPopulations"] = suppressed
        info["note"] = (
            "counts of the suppressed populations are withheld by the dataset's privacy "
            "policy; they are not zero"
        )
    result["info"] = info
    return result


def _extras(frequency: allele_pb2.VariantFrequency) -> JsonObject:
    """``{"extras": {...}}`` of the entry (only what the source gave), or nothing."""
    if not frequency.HasField("extras"):
        return {}
    extras = frequency.extras
    out: JsonObject = {
        _camel(f.name): getattr(extras, f.name)
        for f in extras.DESCRIPTOR.fields
        if f.name != "faf95" and extras.HasField(f.name)
    }
    if extras.faf95:
        # the total's own as the record's ``Total`` row is named
        out["faf95"] = {k or TOTAL_LABEL: v for k, v in sorted(extras.faf95.items())}
    return {"extras": out}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)
