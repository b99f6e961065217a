"""Small datasets for many nodes, their independent expected counts, and answer checks.

:func:`make_world` builds one tiny dataset per node (a few shared alleles, the rest
the node's own), so a 9-node mesh starts fast on 2 cores. :class:`AnswerChecker`
compares every count a gateway returns with the counts computed from the records by
:mod:`tests.vcf_factory` (no allelemesh code), and says what is wrong, if anything.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mesh.v1 import allele_pb2, allele_service_pb2
from tests.count_helpers import as_tuple
from tests.gateway.conftest import recount
from tests.mesh_harness import VariantTuple, expected_totals, random_sites, write_dataset
from tests.vcf_factory import Counts

OK = 0


@dataclass
class WorldNode:
    """One node's id, country, dataset and expected counts."""

    node_id: str
    country: str
    dataset_id: str
    index: Path
    expected: dict[VariantTuple, Counts]


@dataclass
class World:
    """Every node's data; ``variants`` is the union of all alleles."""

    nodes: list[WorldNode]
    variants: list[VariantTuple] = field(default_factory=list)

    def by_dataset(self) -> dict[str, WorldNode]:
        return {n.dataset_id: n for n in self.nodes}


COUNTRIES = ("NO", "FI", "LU", "SE", "DK", "EE", "PT", "ES", "BE", "NL", "IT", "FR")


def make_world(root: Path, count: int, *, seed: int = 11, own: int = 20, shared: int = 10) -> World:
    """``count`` nodes, each one dataset: ``shared`` alleles everyone has, ``own`` its own."""
    rng = random.Random(seed)
    common = random_sites(rng, shared, chromosomes=("1",), span=2_000)
    taken = {(r.chrom, r.pos) for r in common}
    nodes = []
    for i in range(count):
        mine = [
            r
            for r in random_sites(rng, own, span=20_000, start=200_000)
            if (r.chrom, r.pos) not in taken
        ]
        taken |= {(r.chrom, r.pos) for r in mine}
        records = sorted(recount(rng, common) + mine, key=lambda r: (int(r.chrom), r.pos))
        dataset_id = f"ds-{i}"
        index = write_dataset(root / f"n{i}", dataset_id, records)
        country = COUNTRIES[i % len(COUNTRIES)]
        nodes.append(WorldNode(f"n{i}", country, dataset_id, index, expected_totals(records)))
    variants = sorted({v for n in nodes for v in n.expected})
    return World(nodes, variants)


def to_variant(v: VariantTuple) -> allele_pb2.Variant:
    return allele_pb2.Variant(
        chromosome=v[0], position=v[1], reference_bases=v[2], alternate_bases=v[3]
    )


class AnswerChecker:
    """Checks answers against the world; returns a list of problems (empty: correct)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.datasets = world.by_dataset()
        self.node_ids = {n.node_id for n in world.nodes}

    def outcomes(self, outcomes: Sequence[allele_pb2.NodeOutcome]) -> list[str]:
        """Every node asked appears once; every failure names what happened."""
        problems = []
        seen = [o.node_id for o in outcomes]
        if sorted(seen) != sorted(self.node_ids):
            problems.append(f"outcomes name {sorted(seen)}, not every node once")
        for o in outcomes:
            if o.status.code != OK and not o.status.message:
                problems.append(f"{o.node_id}: status {o.status.code} without a message")
        return problems

    def frequencies(
        self,
        variant: VariantTuple | None,
        frequencies: Sequence[allele_pb2.VariantFrequency],
        ok_nodes: set[str],
    ) -> tuple[list[str], Counts]:
        """Each frequency's counts are the expected ones; return problems and the sum."""
        problems = []
        total: list[int | None] = [0, 0, 0, 0, 0]
        for f in frequencies:
            v = f.variant
            got_variant = (v.chromosome, v.position, v.reference_bases, v.alternate_bases)
            if variant is not None and got_variant != variant:
                problems.append(f"asked {variant}, got a frequency of {got_variant}")
            node = self.datasets.get(f.dataset_id)
            if node is None or node.node_id != f.node_id:
                problems.append(f"frequency from unknown dataset {f.dataset_id}@{f.node_id}")
                continue
            if f.node_id not in ok_nodes:
                problems.append(f"frequency from {f.node_id}, whose outcome is not OK")
            expected = node.expected.get(got_variant)
            got = as_tuple(f.counts)
            if expected != got:
                problems.append(f"{f.dataset_id} {got_variant}: got {got}, expected {expected}")
            # A count unknown in any part is unknown in the pool (the pooling rule).
            total = [
                None if a is None or b is None else a + b for a, b in zip(total, got, strict=True)
            ]
        return problems, (total[0], total[1], total[2], total[3], total[4])

    def complete(
        self,
        variant: VariantTuple,
        frequencies: Sequence[allele_pb2.VariantFrequency],
        ok_nodes: set[str],
    ) -> list[str]:
        """Every OK node that holds ``variant`` returned it (nothing lost)."""
        holders = {n.node_id for n in self.world.nodes if variant in n.expected} & ok_nodes
        returned = {f.node_id for f in frequencies}
        missing = holders - returned
        return [f"{variant}: OK nodes {sorted(missing)} hold it but returned nothing"] * bool(
            missing
        )

    def lookup(
        self, variant: VariantTuple, response: allele_service_pb2.LookupVariantResponse
    ) -> list[str]:
        problems = self.outcomes(response.outcomes)
        ok_nodes = {o.node_id for o in response.outcomes if o.status.code == OK}
        found, total = self.frequencies(variant, response.frequencies, ok_nodes)
        problems += found + self.complete(variant, response.frequencies, ok_nodes)
        if as_tuple(response.pooled) != total:
            problems.append(f"{variant}: pooled {as_tuple(response.pooled)} != sum {total}")
        return problems

    def batch(
        self,
        variants: Sequence[VariantTuple],
        response: allele_service_pb2.BatchLookupVariantsResponse,
    ) -> list[str]:
        problems = self.outcomes(response.outcomes)
        if len(response.results) != len(variants):
            return [*problems, f"{len(variants)} variants asked, {len(response.results)} results"]
        ok_nodes = {o.node_id for o in response.outcomes if o.status.code == OK}
        for variant, result in zip(variants, response.results, strict=True):
            found, total = self.frequencies(variant, result.frequencies, ok_nodes)
            problems += found + self.complete(variant, result.frequencies, ok_nodes)
            if as_tuple(result.pooled) != total:
                problems.append(f"{variant}: pooled {as_tuple(result.pooled)} != sum {total}")
        return problems

    def region(
        self,
        region: tuple[str, int, int],
        response: allele_service_pb2.SearchRegionResponse,
    ) -> list[str]:
        problems = self.outcomes(response.outcomes)
        ok_nodes = {o.node_id for o in response.outcomes if o.status.code == OK}
        found, _ = self.frequencies(None, response.frequencies, ok_nodes)
        chrom, start, end = region
        returned = set()
        for f in response.frequencies:
            v = f.variant
            returned.add(
                (f.node_id, (v.chromosome, v.position, v.reference_bases, v.alternate_bases))
            )
            if v.chromosome != chrom or not start <= v.position <= end:
                problems.append(f"region {region}: got {v} outside it")
        if not response.next_page_token:  # the whole region is in this page: all of it
            for node in self.world.nodes:
                if node.node_id not in ok_nodes:
                    continue
                for v in node.expected:
                    if v[0] == chrom and start <= v[1] <= end and (node.node_id, v) not in returned:
                        problems.append(f"region {region}: {node.node_id} OK but lost {v}")
        return problems + found
