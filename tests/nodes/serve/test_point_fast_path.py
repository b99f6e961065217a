"""The point lookup's fast path (nodes.serve._point) against the general path.

``LookupVariant`` keyed from the request's bytes with a cached, caller-independent
selection must give exactly the general path's answer (the variant keyed by
``variant_key``, a fresh :class:`~nodes.serve._selection.Selection` per call): the same
bytes, the same counts and dataset ids, the same errors, across datasets, policies that
withhold or coarsen, budgets, absent variants and variants that need normalization.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mesh.errors import InvalidArgumentError, MeshError
from mesh.model.genome import Assembly
from mesh.plumbing import callctx
from mesh.plumbing.callctx import CallContext
from mesh.security.identity import SpiffeId
from mesh.v1 import allele_pb2, allele_service_pb2
from nodes.serve.budgets import BudgetLedger, QueryBudget
from nodes.serve.lookup import LocalLookup, NodeIdentity
from nodes.serve.policy import AccessRule, DatasetPolicy, Granularity, PrivacyPolicy
from nodes.serve.store import IndexStore
from tests.nodes.serve.test_batch_fast_path import STORED, _write_index
from tests.nodes.serve.test_batch_keys import PatternReference

CALLER = SpiffeId("allelemesh.example", "NO", "gateway", "gw-1")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("indexes")
    store = IndexStore(
        [
            ("ds-a", _write_index(root, "ds-a", STORED, 0), False),
            ("ds-b", _write_index(root, "ds-b", STORED[::2], 5), False),
            ("ds-c", _write_index(root, "ds-c", STORED[1::2], 9), False),
        ]
    )
    yield store
    store.close()


POLICIES = {
    "open": None,
    "denied": DatasetPolicy(rules=(AccessRule("spiffe://allelemesh.example/country/DE/*/*"),)),
    "counts only": DatasetPolicy(rules=(AccessRule("*", Granularity.COUNT),)),
    "rounded": DatasetPolicy(privacy=PrivacyPolicy(round_counts_to=10)),
    "floored": DatasetPolicy(privacy=PrivacyPolicy(min_allele_count=5)),
}


def _lookup(store: IndexStore, policies: dict[str, str], **kwargs) -> LocalLookup:
    chosen = {i: POLICIES[p] for i, p in policies.items() if POLICIES[p] is not None}
    return LocalLookup(store, NodeIdentity("node-1", "NO"), policies=chosen, **kwargs)


def _answer(lookup: LocalLookup, request, *, fast: bool):
    """(payload, count, dataset ids, outcomes) or the error, by the fast or the general path."""
    call = CallContext(CALLER)
    token = callctx.bind(call)
    try:
        if fast:
            data = request.SerializeToString()
            result = lookup.lookup_variant(request, call, data=data)
        else:
            saved = lookup._points
            lookup._points = _NoPlans()  # type: ignore[assignment]
            try:
                result = lookup.lookup_variant(request, call)
            finally:
                lookup._points = saved
    except MeshError as error:
        return type(error), error.message, error.to_status().SerializeToString()
    finally:
        callctx.reset(token)
    return result.payload, result.frequency_count, result.dataset_ids, result.dataset_outcomes


class _NoPlans:
    """Stands in for PointPlans: every request takes the general path."""

    def get(self, *args):
        return None


chromosomes = st.sampled_from(["1", "chr1", "2", "chr2", "X", "chrX", "MT", "chrM", "17", "x", "9"])
bases = st.text(alphabet="ACGTNacgt", min_size=0, max_size=4)
stored = st.sampled_from(STORED)
asked = st.one_of(
    stored,
    stored.map(lambda v: ("chr" + v[0], *v[1:])),
    stored.map(lambda v: (v[0], v[1], v[2] + "T", v[3] + "T")),  # needs trimming
    stored.map(lambda v: (v[0], v[1], v[2].lower(), v[3])),
    st.tuples(chromosomes, st.integers(min_value=-1, max_value=300_000_000), bases, bases),
)
dataset_ids = st.lists(st.sampled_from(["ds-a", "ds-b", "ds-c", "ds-x"]), max_size=3)
policy_names = st.dictionaries(
    st.sampled_from(["ds-a", "ds-b", "ds-c"]), st.sampled_from(sorted(POLICIES))
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    variant=asked,
    ids=dataset_ids,
    policies=policy_names,
    populations=st.sampled_from([[], ["NFE"]]),
    assembly=st.sampled_from(
        [
            allele_pb2.ASSEMBLY_UNSPECIFIED,
            allele_pb2.ASSEMBLY_GRCH38,
            allele_pb2.ASSEMBLY_GRCH37,
            77,
        ]
    ),
    reference=st.booleans(),
)
def test_fast_path_answers_exactly_as_the_general_path(
    store, variant, ids, policies, populations, assembly, reference
):
    references = {Assembly.GRCH38: PatternReference()} if reference else None
    lookup = _lookup(store, policies, references=references)
    chrom, pos, ref, alt = variant
    request = allele_service_pb2.LookupVariantRequest(
        assembly=assembly,
        variant=allele_pb2.Variant(
            chromosome=chrom, position=pos, reference_bases=ref, alternate_bases=alt
        ),
        dataset_ids=ids,
        populations=populations,
    )
    expected = _answer(lookup, request, fast=False)
    # Twice: the first call fills the plan cache, the second answers from it.
    assert _answer(lookup, request, fast=True) == expected
    assert _answer(lookup, request, fast=True) == expected


def test_found_absent_and_missing_variant(store):
    lookup = _lookup(store, {})
    found = allele_service_pb2.LookupVariantRequest(
        variant=allele_pb2.Variant(
            chromosome="1", position=100, reference_bases="A", alternate_bases="G"
        )
    )
    first, count, ids, outcomes = _answer(lookup, found, fast=True)
    response = allele_service_pb2.LookupVariantResponse.FromString(first)
    assert (count, ids, outcomes) == (2, ["ds-a", "ds-b", "ds-c"], b"")
    assert [f.dataset_id for f in response.frequencies] == ["ds-a", "ds-b"]
    # _frequency's counts: ds-a row 0 (ac 3, an 1000), ds-b row 0 with seed 5 (8, 1085).
    assert response.pooled.allele_count == 3 + 8
    assert response.pooled.allele_number == 1_000 + 1_085
    assert all(f.node_id == "node-1" and f.country == "NO" for f in response.frequencies)
    absent = allele_service_pb2.LookupVariantRequest(
        variant=allele_pb2.Variant(
            chromosome="3", position=1, reference_bases="C", alternate_bases="T"
        ),
        dataset_ids=["ds-a"],
    )
    payload, count, ids, _ = _answer(lookup, absent, fast=True)
    response = allele_service_pb2.LookupVariantResponse.FromString(payload)
    assert (count, ids, list(response.frequencies)) == (0, ["ds-a"], [])
    assert response.HasField("pooled")  # exact zeros, by the pooling rule
    selections = []
    general = lookup.select
    lookup.select = lambda *args: selections.append(args) or general(*args)  # type: ignore[method-assign]
    for _ in range(3):  # open datasets: selected once (above), then answered from the plan
        assert _answer(lookup, found, fast=True)[0] == first
    assert selections == []
    missing = _answer(lookup, allele_service_pb2.LookupVariantRequest(), fast=True)
    assert missing[0] is InvalidArgumentError
    assert b"MISSING_FIELD" in missing[2]


def test_withheld_datasets_are_reported_on_every_call(store):
    lookup = _lookup(store, {"ds-b": "denied"})
    request = allele_service_pb2.LookupVariantRequest(
        variant=allele_pb2.Variant(
            chromosome="1", position=100, reference_bases="A", alternate_bases="G"
        )
    )
    for _ in range(3):
        _, count, ids, outcomes = _answer(lookup, request, fast=True)
        assert (count, ids) == (1, ["ds-a", "ds-c"])
        assert b"ds-b" in outcomes
        assert b"DATASET_ACCESS_DENIED" in outcomes


def test_budgets_are_charged_on_every_call(store, tmp_path):
    ledger = BudgetLedger(tmp_path / "budgets.sqlite3")
    budget = DatasetPolicy(budget=QueryBudget(lookups=2, per_seconds=3600.0))
    lookup = LocalLookup(
        store, NodeIdentity("node-1", "NO"), policies={"ds-a": budget}, budgets=ledger
    )
    request = allele_service_pb2.LookupVariantRequest(
        variant=allele_pb2.Variant(
            chromosome="1", position=100, reference_bases="A", alternate_bases="G"
        ),
        dataset_ids=["ds-a"],
    )
    counts = [_answer(lookup, request, fast=True)[1] for _ in range(3)]
    assert counts == [1, 1, 0]  # the third call is past the budget of 2 rows
    outcomes = _answer(lookup, request, fast=True)[3]
    assert b"ds-a" in outcomes
    ledger.close()


def test_a_swapped_dataset_is_served_from_its_new_version(tmp_path):
    v1 = _write_index(tmp_path, "v1", STORED, 0)
    v2 = _write_index(tmp_path, "v2", STORED, 40)
    for version in (v1, v2):  # both versions hold dataset "ds-a"
        text = (version / "dataset.json").read_text()
        (version / "dataset.json").write_text(text.replace(f'"{version.name}"', '"ds-a"'))
    link = tmp_path / "ds-a"
    link.symlink_to(v1)
    store = IndexStore([("ds-a", link, False)])
    try:
        lookup = LocalLookup(store, NodeIdentity("node-1", "NO"))
        request = allele_service_pb2.LookupVariantRequest(
            variant=allele_pb2.Variant(
                chromosome="1", position=100, reference_bases="A", alternate_bases="G"
            )
        )

        def allele_count() -> int:
            payload = _answer(lookup, request, fast=True)[0]
            return allele_service_pb2.LookupVariantResponse.FromString(payload).pooled.allele_count

        assert allele_count() == 3
        tmp = tmp_path / "next"
        tmp.symlink_to(v2)
        os.replace(tmp, link)
        assert store.reload_changed() == ["ds-a"]
        assert allele_count() == 3 + 40
    finally:
        store.close()


def test_a_variant_sent_twice_is_answered_as_protobuf_merges_it(store):
    lookup = _lookup(store, {})

    def variant_request(**fields) -> bytes:
        return allele_service_pb2.LookupVariantRequest(
            variant=allele_pb2.Variant(**fields)
        ).SerializeToString()

    # Two variant fields: protobuf merges them into 1-100-A-G (the second's fields win).
    data = variant_request(
        chromosome="2", position=5_000, reference_bases="G", alternate_bases="T"
    ) + variant_request(chromosome="1", position=100, reference_bases="A", alternate_bases="G")
    request = allele_service_pb2.LookupVariantRequest.FromString(data)
    assert request.variant.chromosome == "1"
    fast = lookup.lookup_variant(request, CallContext(CALLER), data=data)
    general = _answer(lookup, request, fast=False)
    assert (fast.payload, fast.frequency_count) == general[:2]
    assert fast.frequency_count == 2
