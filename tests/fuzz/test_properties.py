"""Property-based hostile input on every parser and API boundary (hypothesis, bounded).

Whatever the input, a parser returns a validated value or raises the one error of
its kind (``InvalidArgumentError`` naming the field, ``ConfigError`` naming the key);
the gRPC API answers ``INVALID_ARGUMENT`` (or another status a client can act on),
never ``INTERNAL``/``UNKNOWN``; the HTTP API answers 4xx problems, never 5xx.
Budgets: ``max_examples`` per property from :func:`tests.faults.figures.bound`.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mesh.config import load_gateway_config, load_node_config
from mesh.errors import ConfigError, InvalidArgumentError
from mesh.model.genome import Assembly, contig_length
from mesh.model.notation import format_spdi, format_variant, parse_region, parse_variant
from mesh.model.paging import PageTokenCodec, query_fingerprint
from mesh.model.variants import VariantKey
from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2
from tests.faults.figures import Figures, bound
from tests.fuzz.live import Live, live_servers
from tests.fuzz.strategies import (
    JSON,
    batch_body,
    gateway_toml,
    near_region,
    near_variant,
    node_toml,
)

EXAMPLES = bound(150, 5_000)
HTTP_EXAMPLES = bound(80, 3_000)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
FUZZ_HTTP = settings(FUZZ, max_examples=HTTP_EXAMPLES)
ASSEMBLIES = st.sampled_from(list(Assembly))
# Statuses a client can act on; INTERNAL, UNKNOWN (and DATA_LOSS...) are bugs.
ACCEPTABLE = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.OUT_OF_RANGE,
}


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[Live]:
    with live_servers(tmp_path_factory.mktemp("fuzz-live")) as servers:
        yield servers


def _named_error(error: InvalidArgumentError, field: str) -> None:
    assert error.field.startswith(field), (error.field, field)
    assert error.message
    assert error.reason
    assert error.reason != "INTERNAL"


# ------------------------------------------------------------------ parsers


@FUZZ
@given(text=near_variant(), assembly=ASSEMBLIES)
def test_parse_variant_returns_a_key_or_names_the_field(figures: Figures, text, assembly):
    """parse_variant: any text gives a valid key or INVALID_ARGUMENT on "variant"."""
    figures.inputs_fuzzed += 1
    try:
        key = parse_variant(text, assembly)
    except InvalidArgumentError as error:
        _named_error(error, "variant")
        return
    assert 1 <= key.position <= contig_length(key.chromosome, assembly)
    assert parse_variant(format_variant(key), assembly) == key


@st.composite
def valid_keys(draw: st.DrawFn) -> tuple[VariantKey, Assembly]:
    assembly = draw(ASSEMBLIES)
    chrom = draw(st.sampled_from(["1", "2", "13", "22", "X", "Y", "MT"]))
    ref = draw(st.text("ACGT", min_size=1, max_size=6))
    position = draw(st.integers(1, contig_length(chrom, assembly) - len(ref) + 1))
    alt = draw(st.text("ACGT", min_size=1, max_size=6))
    assume(ref != alt)
    return VariantKey(chrom, position, ref, alt), assembly


@FUZZ
@given(case=valid_keys())
def test_every_notation_of_a_key_reads_back_to_it(figures: Figures, case):
    """format_variant / format_spdi of a valid key parse back to the same key."""
    key, assembly = case
    figures.inputs_fuzzed += 1
    assert parse_variant(format_variant(key), assembly) == key
    assert parse_variant(format_spdi(key, assembly), assembly) == key
    assert (
        parse_variant(
            f"chr{key.chromosome}:{key.position}:{key.ref}:{key.alt}".replace("chrMT", "chrM"),
            assembly,
        )
        == key
    )


@FUZZ
@given(text=near_region(), assembly=ASSEMBLIES, span=st.one_of(st.none(), st.integers(1, 10**7)))
def test_parse_region_returns_a_region_or_names_the_field(figures: Figures, text, assembly, span):
    """parse_region: any text gives a valid region or INVALID_ARGUMENT on "region"."""
    figures.inputs_fuzzed += 1
    try:
        region = parse_region(text, assembly, max_span=span)
    except InvalidArgumentError as error:
        _named_error(error, "region")
        return
    assert 1 <= region.start <= region.end <= contig_length(region.chromosome, assembly)
    if span is not None:
        assert region.end - region.start + 1 <= span


CODEC = PageTokenCodec(b"k" * 32)
OTHER = PageTokenCodec(b"o" * 32)


@FUZZ
@given(
    token=st.one_of(st.text(max_size=200), st.binary(max_size=120).map(lambda b: b.hex())),
    state=st.binary(max_size=64),
    parts=st.lists(st.text(max_size=8), max_size=3),
)
def test_page_tokens_are_refused_unless_issued_for_this_query(
    figures: Figures, token, state, parts
):
    """PageTokenCodec: garbage, other secrets and other queries are INVALID_ARGUMENT."""
    figures.inputs_fuzzed += 1
    fingerprint = query_fingerprint(*parts)
    with pytest.raises(InvalidArgumentError) as caught:
        CODEC.decode(token, fingerprint)
    _named_error(caught.value, "page_token")
    issued = CODEC.encode(fingerprint, state)
    assert CODEC.decode(issued, fingerprint) == state
    with pytest.raises(InvalidArgumentError):
        OTHER.decode(issued, fingerprint)
    with pytest.raises(InvalidArgumentError):
        CODEC.decode(issued, query_fingerprint(*parts, "other"))


@FUZZ
@given(document=st.one_of(node_toml(), st.text(max_size=300)))
def test_node_config_loads_or_names_the_key(figures: Figures, document):
    """load_node_config: any file is a NodeConfig or a ConfigError, nothing else."""
    figures.inputs_fuzzed += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "node.toml"
        path.write_text(document, encoding="utf-8")
        try:
            config = load_node_config(path)
        except ConfigError as error:
            assert error.message.startswith(str(path))  # noqa: PT017 - either outcome is fine
            return
    assert config.id
    assert config.country
    assert config.max_concurrent_rpcs >= 1


@FUZZ
@given(document=st.one_of(gateway_toml(), st.text(max_size=300)))
def test_gateway_config_loads_or_names_the_key(figures: Figures, document):
    """load_gateway_config: any file is a GatewayConfig or a ConfigError, nothing else."""
    figures.inputs_fuzzed += 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gateway.toml"
        path.write_text(document, encoding="utf-8")
        try:
            config = load_gateway_config(path)
        except ConfigError as error:
            assert error.message.startswith(str(path))  # noqa: PT017 - either outcome is fine
            return
    assert config.peers
    assert config.max_concurrent_rpcs >= 1


# ------------------------------------------------------------------ gRPC boundary

INT64 = st.integers(-(2**63), 2**63 - 1)
ENUM = st.one_of(st.integers(0, 3), st.integers(-(2**31), 2**31 - 1))
TEXT = st.one_of(
    st.sampled_from(["1", "chr1", "X", "A", "G", "", "ds", "no-gnomad"]), st.text(max_size=20)
)
VARIANT = st.builds(
    allele_pb2.Variant, chromosome=TEXT, position=INT64, reference_bases=TEXT, alternate_bases=TEXT
)
REQUESTS = st.one_of(
    st.tuples(
        st.just("LookupVariant"),
        st.builds(
            allele_service_pb2.LookupVariantRequest,
            assembly=ENUM,
            variant=VARIANT,
            dataset_ids=st.lists(TEXT, max_size=3),
            populations=st.lists(TEXT, max_size=3),
            scope=ENUM,
        ).map(lambda m: m.SerializeToString()),
    ),
    st.tuples(
        st.just("BatchLookupVariants"),
        st.builds(
            allele_service_pb2.BatchLookupVariantsRequest,
            assembly=ENUM,
            variants=st.lists(VARIANT, max_size=5),
            dataset_ids=st.lists(TEXT, max_size=2),
            scope=ENUM,
        ).map(lambda m: m.SerializeToString()),
    ),
    st.tuples(
        st.just("SearchRegion"),
        st.builds(
            allele_service_pb2.SearchRegionRequest,
            assembly=ENUM,
            region=st.builds(allele_pb2.Region, chromosome=TEXT, start=INT64, end=INT64),
            page_size=st.integers(-(2**31), 2**31 - 1),
            page_token=TEXT,
            scope=ENUM,
            dataset_ids=st.lists(TEXT, max_size=2),
        ).map(lambda m: m.SerializeToString()),
    ),
    st.tuples(
        st.just("ListDatasets"),
        st.builds(
            catalog_service_pb2.ListDatasetsRequest,
            assembly=ENUM,
            page_size=st.integers(-(2**31), 2**31 - 1),
            page_token=TEXT,
            scope=ENUM,
        ).map(lambda m: m.SerializeToString()),
    ),
    st.tuples(
        st.sampled_from(
            ["LookupVariant", "SearchRegion", "BatchLookupVariants", "ListDatasets", "GetDataset"]
        ),
        st.binary(max_size=200),
    ),
)
SERVICE = {"ListDatasets": "CatalogService", "GetDataset": "CatalogService"}


@pytest.fixture(scope="module")
def grpc_channel(live: Live) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(live.grpc_address) as channel:
        yield channel


@FUZZ
@given(case=REQUESTS)
def test_grpc_api_never_answers_internal(figures: Figures, grpc_channel, case):
    """Structured and raw-byte requests to every node RPC: never INTERNAL or UNKNOWN."""
    method, payload = case
    figures.inputs_fuzzed += 1
    service = SERVICE.get(method, "AlleleFrequencyService")
    call = grpc_channel.unary_unary(f"/mesh.v1.{service}/{method}")
    try:
        call(payload, timeout=10)
    except grpc.RpcError as error:
        code, details = error.code(), error.details()  # type: ignore[attr-defined]
    else:
        return
    if code not in ACCEPTABLE:
        figures.crashes += 1
    assert code in ACCEPTABLE, (method, payload, code, details)
    assert details


# ------------------------------------------------------------------ HTTP boundary


@pytest.fixture(scope="module")
def http(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.http_url, timeout=30) as client:
        yield client


def _check_http(figures: Figures, response: httpx.Response) -> None:
    figures.inputs_fuzzed += 1
    if response.status_code >= 500:
        figures.crashes += 1
    assert response.status_code < 500, (
        response.request.method,
        response.request.url,
        response.request.content[:300],
        response.text[:500],
    )
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json().get("detail"), response.text


QUERY_KEYS = st.sampled_from(
    [
        "assembly",
        "dataset",
        "population",
        "page_size",
        "page_token",
        "referenceName",
        "start",
        "end",
        "referenceBases",
        "alternateBases",
        "assemblyId",
        "variantType",
        "datasetIds",
        "genomicAlleleShortForm",
        "requestedGranularity",
        "skip",
        "limit",
        "includeResultsetResponses",
        "country",
        "x",
    ]
)
QUERY = st.lists(
    st.tuples(QUERY_KEYS, st.one_of(TEXT, NUMBER := st.integers().map(str))), max_size=6
)


@FUZZ_HTTP
@given(
    path=st.one_of(
        near_variant().map(lambda v: f"/v1/variants/{v}"),
        near_region().map(lambda r: f"/v1/regions/{r}"),
        st.just("/api/g_variants"),
        st.just("/v1/datasets"),
        st.text(max_size=20).map(lambda t: f"/v1/datasets/{t}"),
        st.just("/api/datasets"),
    ),
    query=QUERY,
)
def test_http_get_never_answers_500(figures: Figures, http, path, query):
    """GET on every route with hostile paths and query strings: 2xx or a 4xx problem."""
    try:
        request = http.build_request("GET", path, params=query)
    except (httpx.InvalidURL, UnicodeEncodeError):
        return  # not sendable as an HTTP request at all
    _check_http(figures, http.send(request))


@FUZZ_HTTP
@given(
    route=st.sampled_from(["/v1/variants:batch", "/api/g_variants"]),
    body=st.one_of(batch_body(), JSON),
    raw=st.one_of(st.none(), st.binary(max_size=100)),
)
def test_http_json_bodies_never_answer_500(figures: Figures, http, route, body, raw):
    """POST bodies: JSON of the right shape with wrong values, any JSON, raw bytes."""
    if raw is not None:
        response = http.post(route, content=raw, headers={"content-type": "application/json"})
    else:
        # json.dumps, not httpx's json=: it writes Infinity/NaN tokens, which a lenient
        # parser accepts and the API must still refuse cleanly.
        text = json.dumps(body)
        response = http.post(route, content=text, headers={"content-type": "application/json"})
    _check_http(figures, response)
