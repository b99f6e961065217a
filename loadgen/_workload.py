"""What the load generator asks: a weighted mix of lookups, batches and region pages."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from google.protobuf.message import Message

from mesh.plumbing.rpc import METHOD_PATHS
from mesh.v1 import allele_pb2, allele_service_pb2

#: (chromosome, position, ref, alt) and (chromosome, start, end), 1-based.
VariantTuple = tuple[str, int, str, str]
RegionTuple = tuple[str, int, int]

_METHODS = {
    "lookup": METHOD_PATHS["LookupVariant"],
    "batch": METHOD_PATHS["BatchLookupVariants"],
    "region": METHOD_PATHS["SearchRegion"],
}


@dataclass(frozen=True)
class Workload:
    """Variants and regions to ask about, and how often each kind of call is made."""

    variants: Sequence[VariantTuple]
    regions: Sequence[RegionTuple] = ()
    #: kind -> relative weight (kinds: lookup, batch, region).
    mix: dict[str, float] = field(
        default_factory=lambda: {"lookup": 0.7, "batch": 0.2, "region": 0.1}
    )
    batch_size: int = 20
    page_size: int = 100

    def kinds(self) -> tuple[list[str], list[float]]:
        """The kinds that can be asked (regions need regions) and their weights."""
        kinds = [k for k, w in self.mix.items() if w > 0 and (k != "region" or self.regions)]
        if not kinds or not self.variants:
            raise ValueError("a workload needs variants and at least one kind with weight > 0")
        unknown = set(kinds) - set(_METHODS)
        if unknown:
            raise ValueError(f"unknown kinds of call: {sorted(unknown)}")
        return kinds, [self.mix[k] for k in kinds]

    def request(self, kind: str, rng: random.Random) -> tuple[str, Message]:
        """The gRPC method path and request of one call of ``kind``."""
        if kind == "lookup":
            variant = _variant(rng.choice(self.variants))
            return _METHODS[kind], allele_service_pb2.LookupVariantRequest(variant=variant)
        if kind == "batch":
            size = min(self.batch_size, len(self.variants))
            variants = [_variant(v) for v in rng.sample(list(self.variants), size)]
            return _METHODS[kind], allele_service_pb2.BatchLookupVariantsRequest(variants=variants)
        chrom, start, end = rng.choice(self.regions)
        region = allele_pb2.Region(chromosome=chrom, start=start, end=end)
        return _METHODS[kind], allele_service_pb2.SearchRegionRequest(
            region=region, page_size=self.page_size
        )


def _variant(v: VariantTuple) -> allele_pb2.Variant:
    return allele_pb2.Variant(
        chromosome=v[0], position=v[1], reference_bases=v[2], alternate_bases=v[3]
    )
