"""Per-dataset access policy and privacy safeguards, applied when counts leave the node.

Access: a dataset's ``allow`` patterns (SPIFFE IDs with ``*`` per path segment, OIDC
users ``oidc:<issuer>#<sub>``, ``ga4gh:ControlledAccessGrants``; see
:mod:`mesh.security.principal`) say who may query it, and ``granularity`` per pattern how much
they see:

* ``record``: counts and per-population rows;
* ``count``: the dataset's counts, no per-population rows;
* ``boolean``: only that the variant exists (counts withheld, precision SUPPRESSED).

The caller is the identity in its verified client certificate (never a header). When
it forwards someone else's request with a verified forwarding token
(:mod:`mesh.plumbing.callctx`), the dataset must admit both, and releases what the stricter of
the two may see (:meth:`DatasetPolicy.granularity_for_call`). A dataset without
``allow`` is open to every caller, including plaintext ones on an ``--insecure`` node;
with ``allow``, a plaintext or anonymous caller matches only the pattern ``*``.

Privacy (applied after granularity; the rules themselves are :mod:`mesh.disclosure`'s):

* ``min_population_size = n``: a population row whose allele number says fewer than
  ``n`` samples (AN / 2, diploid) is left out of the per-population rows (its samples
  stay in the dataset row, and in the remainders of the partitions);
* ``min_individuals = n`` / ``min_allele_count = k``: two-tailed floors (in individuals,
  and their allele form) with complementary suppression across the population
  partitions, or ``on_suppression = "collapse"`` to the dataset row alone; withheld
  counts are absent with precision ``SUPPRESSED``;
* ``round_counts_to = 10 | 100``: after suppression, every released count of every row
  (the dataset row too) is rounded half up to that multiple, precision ``ROUNDED``; AF
  is recomputed from the rounded AC and AN;
* ``query_budget = { lookups = N, per_seconds = S }``: rows per origin per sliding
  window, counted in a ledger shared by the node's workers (see :mod:`nodes.serve.budgets`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property

from mesh.config import DatasetConfig
from mesh.disclosure import (
    Disclosed,
    DisclosureRules,
    Partition,
    count_shape,
    disclose,
    release_extras,
    round_frequency,
)
from mesh.errors import PermissionDeniedError
from mesh.plumbing.callctx import CallContext
from mesh.security.identity import SpiffeId
from mesh.security.principal import Principal, pattern_matches
from mesh.v1 import allele_pb2
from nodes.serve.budgets import QueryBudget

EXACT = allele_pb2.COUNT_PRECISION_EXACT
ROUNDED = allele_pb2.COUNT_PRECISION_ROUNDED
SUPPRESSED = allele_pb2.COUNT_PRECISION_SUPPRESSED


class Granularity(IntEnum):
    """How much of a dataset a caller may see; larger sees more."""

    BOOLEAN = 1
    COUNT = 2
    RECORD = 3

    @classmethod
    def parse(cls, text: str) -> Granularity:
        """``boolean``, ``count`` or ``record`` (as in Beacon)."""
        return cls[text.upper()]


@dataclass(frozen=True)
class AccessRule:
    """One ``allow`` pattern and the granularity it grants."""

    pattern: str
    granularity: Granularity = Granularity.RECORD


@dataclass(frozen=True)
class PrivacyPolicy:
    """A dataset's release rules; all zero means counts are released exactly."""

    min_allele_count: int = 0
    round_counts_to: int = 0
    min_population_size: int = 0
    min_individuals: int = 0
    #: ``on_suppression = "collapse"`` rather than complementary suppression.
    collapse: bool = False
    #: Declared population partitions (``None``: read from the labels).
    partitions: tuple[Partition, ...] | None = None

    @cached_property
    def exact(self) -> bool:
        """Whether stored counts are released untouched (asked per lookup: kept)."""
        return not (self.disclosure.active or self.round_counts_to > 1
                    or self.min_population_size > 0)  # fmt: skip

    @property
    def disclosure(self) -> DisclosureRules:
        """The floors and suppression mode, as :mod:`mesh.disclosure` applies them."""
        return DisclosureRules(
            self.min_individuals, self.min_allele_count, self.collapse, self.partitions
        )


@dataclass(frozen=True)
class DatasetPolicy:
    """Everything that governs how one dataset's counts are released."""

    rules: tuple[AccessRule, ...] | None = None
    privacy: PrivacyPolicy = PrivacyPolicy()
    budget: QueryBudget | None = None

    def granularity_for(
        self, who: Principal | SpiffeId | None, dataset_id: str = ""
    ) -> Granularity | None:
        """The most one principal may see, or ``None`` when it may not query at all."""
        if self.rules is None:
            return Granularity.RECORD
        principal = who if isinstance(who, Principal) else Principal.of_spiffe(who)
        best: Granularity | None = None
        for rule in self.rules:
            if pattern_matches(rule.pattern, principal, dataset_id):
                best = rule.granularity if best is None else max(best, rule.granularity)
        return best

    def granularity_for_call(self, dataset_id: str, call: CallContext) -> Granularity | None:
        """What this request may see: the origin's access, capped by the forwarder's.

        An open dataset answers at once: nothing about the call is resolved.
        """
        if self.rules is None:
            return Granularity.RECORD
        granted = self.granularity_for(call.principal, dataset_id)
        forwarder = call.forwarder
        if granted is None or forwarder is None:
            return granted
        through = self.granularity_for(forwarder, dataset_id)
        return None if through is None else min(granted, through)


OPEN_POLICY = DatasetPolicy()


def access_denied(dataset_id: str, call: CallContext) -> PermissionDeniedError:
    """The error for a request that a dataset's ``allow`` list does not admit."""
    principal = call.principal
    who = "an unauthenticated caller" if principal.anonymous else principal.name
    forwarder = call.forwarder
    if forwarder is not None:
        who = f"{who} (through {forwarder.name})"
    return PermissionDeniedError(
        f"{who} may not query dataset {dataset_id!r}",
        reason="DATASET_ACCESS_DENIED",
        metadata={"dataset_id": dataset_id, "caller": who},
    )


@dataclass(frozen=True, slots=True)
class Released:
    """What :func:`release` left out of one frequency (``index preview`` counts it)."""

    #: Population rows left out by ``min_population_size``.
    small_populations: int
    disclosed: Disclosed


def release(
    frequency: allele_pb2.VariantFrequency, granularity: Granularity, privacy: PrivacyPolicy
) -> Released:
    """Reduce a stored frequency to what may be released to this caller, in place."""
    small = 0
    # grpmax/faf95 go only with counts released as stored (mesh.disclosure.release_extras)
    stored = count_shape(frequency) if frequency.HasField("extras") else None
    if granularity is Granularity.BOOLEAN:
        frequency.ClearField("extras")
        frequency.counts.Clear()
        frequency.counts.precision = SUPPRESSED
        del frequency.populations[:]
        return Released(0, Disclosed())
    if granularity is Granularity.COUNT:
        del frequency.populations[:]
    elif privacy.min_population_size:
        kept = [
            p
            for p in frequency.populations
            if p.counts.allele_number // 2 >= privacy.min_population_size
        ]
        small = len(frequency.populations) - len(kept)
        if small:
            del frequency.populations[:]
            frequency.populations.extend(kept)
    disclosed = disclose(frequency, privacy.disclosure)
    round_frequency(frequency, privacy.round_counts_to)
    for counts in (frequency.counts, *(p.counts for p in frequency.populations)):
        if not counts.precision:
            counts.precision = EXACT
    if stored is not None:
        release_extras(frequency, stored)
    return Released(small, disclosed)


def policy_from_config(config: DatasetConfig) -> DatasetPolicy:
    """The policy that a ``[[datasets]]`` entry of node.toml describes."""
    rules = None
    if config.allow is not None:
        rules = tuple(
            AccessRule(pattern, Granularity.parse(config.granularity.get(pattern, "record")))
            for pattern in config.allow
        )
    budget = QueryBudget(*config.query_budget) if config.query_budget else None
    return DatasetPolicy(
        rules=rules,
        privacy=PrivacyPolicy(
            min_allele_count=config.min_allele_count,
            round_counts_to=config.round_counts_to,
            min_population_size=config.min_population_size,
            min_individuals=config.min_individuals,
            collapse=config.on_suppression == "collapse",
            partitions=tuple(Partition(parent, cells) for parent, cells in config.partitions)
            if config.partitions is not None
            else None,
        ),
        budget=budget,
    )
