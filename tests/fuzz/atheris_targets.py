"""Coverage-guided fuzz targets (atheris / libFuzzer), one per parser or boundary.

Run one target for a bounded time (what ``tests/fuzz/test_atheris.py`` does)::

    python -m tests.fuzz.atheris_targets notation -max_total_time=5 -print_final_stats=1

An input that raises anything but the documented error of the boundary (or a 5xx
from the HTTP API) is a crash: libFuzzer saves it under ``-artifact_prefix`` and the
process exits non-zero. Targets:

* ``notation``: ``parse_variant`` / ``parse_region`` on any text, both assemblies;
* ``page_token``: ``PageTokenCodec.decode`` on any text;
* ``config``: ``load_node_config`` / ``load_gateway_config`` on any file;
* ``request``: raw bytes as each node RPC's request, answered by a node's
  ``LocalLookup`` over a real index (``MeshError`` only);
* ``http``: any JSON body and query string through the HTTP API (ASGI, in-process).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris
import httpx

# Only allelemesh's own code is instrumented (instrumenting every library makes
# start-up take minutes); everything it uses is imported here, under the hook.
with atheris.instrument_imports(include=["mesh", "nodes", "gateway"]):
    from gateway.http.app import create_app
    from mesh.config import load_gateway_config, load_node_config
    from mesh.errors import ConfigError, InvalidArgumentError, MeshError
    from mesh.model import notation, paging
    from mesh.model.genome import Assembly
    from mesh.plumbing.rpc import parse_request
    from mesh.v1 import allele_service_pb2, catalog_service_pb2
    from nodes.serve.lookup import LocalLookup, NodeIdentity
    from nodes.serve.store import IndexStore
    from tests.gateway.http.fakes import FakeBackend
    from tests.gateway.http.harness import build_datasets

TMP = Path(tempfile.mkdtemp(prefix="allelemesh-fuzz-"))


def notation_target() -> Callable[[bytes], None]:
    def one(data: bytes) -> None:
        text = data.decode("utf-8", "replace")
        for assembly in Assembly:
            for parse in (notation.parse_variant, notation.parse_region):
                with contextlib.suppress(InvalidArgumentError):
                    parse(text, assembly)

    return one


def page_token_target() -> Callable[[bytes], None]:
    codec = paging.PageTokenCodec(b"s" * 32)
    fingerprint = paging.query_fingerprint("fuzz")

    def one(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        size = fdp.ConsumeIntInRange(-(2**31), 2**31)
        with contextlib.suppress(InvalidArgumentError):
            paging.page_size_or_default(size)
        with contextlib.suppress(InvalidArgumentError):
            codec.decode(fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes()), fingerprint)

    return one


def config_target() -> Callable[[bytes], None]:
    path = TMP / "fuzz.toml"

    def one(data: bytes) -> None:
        # UTF-8 text: non-UTF-8 bytes are a known bug with its own test
        # (test_atheris.py::test_config_file_that_is_not_utf8_is_a_config_error).
        path.write_text(data.decode("utf-8", "replace"), "utf-8")
        for load in (load_node_config, load_gateway_config):
            with contextlib.suppress(ConfigError):
                load(path)

    return one


def request_target() -> Callable[[bytes], None]:
    store = IndexStore([(i, p, False) for i, p in build_datasets(TMP)])
    lookup = LocalLookup(store, NodeIdentity("fuzz-1", "NO"))
    methods = [
        (allele_service_pb2.LookupVariantRequest, lookup.lookup_variant),
        (allele_service_pb2.BatchLookupVariantsRequest, lookup.batch_lookup),
        (allele_service_pb2.SearchRegionRequest, lookup.search_region),
        (catalog_service_pb2.ListDatasetsRequest, lookup.catalog.list_datasets),
        (catalog_service_pb2.GetDatasetRequest, lookup.catalog.get_dataset),
    ]

    def one(data: bytes) -> None:
        if not data:
            return
        message_type, method = methods[data[0] % len(methods)]
        with contextlib.suppress(MeshError):
            method(parse_request(message_type, data[1:]))  # type: ignore[operator]

    return one


def http_target() -> Callable[[bytes], None]:
    backend = FakeBackend(lookup=allele_service_pb2.LookupVariantResponse())
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(backend), raise_app_exceptions=False),
        base_url="http://fuzz",
    )
    loop = asyncio.new_event_loop()
    routes = ["/v1/variants:batch", "/api/g_variants"]
    gets = ["/v1/variants/", "/v1/regions/", "/api/g_variants?", "/v1/datasets/"]

    def one(data: bytes) -> None:
        fdp = atheris.FuzzedDataProvider(data)
        if fdp.ConsumeBool():
            route = routes[fdp.ConsumeIntInRange(0, len(routes) - 1)]
            body = fdp.ConsumeBytes(fdp.remaining_bytes())
            call = client.post(route, content=body, headers={"content-type": "application/json"})
        else:
            prefix = gets[fdp.ConsumeIntInRange(0, len(gets) - 1)]
            tail = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
            try:
                request = client.build_request("GET", prefix + tail)
            except (httpx.InvalidURL, UnicodeEncodeError):
                return
            call = client.send(request)
        response = loop.run_until_complete(call)
        if response.status_code >= 500:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")

    return one


TARGETS: dict[str, Callable[[], Callable[[bytes], None]]] = {
    "notation": notation_target,
    "page_token": page_token_target,
    "config": config_target,
    "request": request_target,
    "http": http_target,
}


#: Valid inputs to start from, so mutations reach past the first check.
SEEDS: dict[str, list[bytes]] = {
    "notation": [
        b"1-55051215-G-GA",
        b"chr1:55051215:G:GA",
        b"1:55051215 G>GA",
        b"NC_000001.11:55051214:G:GA",
        b"NC_000001.11:g.55051215G>A",
        b"chrX:1,000-2,000",
        b"NC_000001.11:55051214:1:",
    ],
    "config": [
        b'[node]\nid = "no-1"\ncountry = "NO"\nlisten = "127.0.0.1:0"\n'
        b'[[peers]]\nid = "fi"\ncountry = "FI"\naddress = "h:1"\n',
        b'[gateway]\nid = "gw"\nlisten = "127.0.0.1:0"\n'
        b'[[peers]]\nid = "fi"\ncountry = "FI"\naddresses = ["h:1"]\n',
    ],
    "http": [
        b'\x01{"variants": ["1-55051215-G-A"], "assembly": "GRCh38"}',
        b"\x00\x001-55051215-G-A?assembly=hg38",
    ],
}


def main() -> None:
    name = sys.argv[1]
    one = TARGETS[name]()
    corpus = TMP / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(SEEDS.get(name, [])):
        (corpus / f"seed-{i}").write_bytes(seed)
    atheris.Setup([sys.argv[0], *sys.argv[2:], str(corpus)], one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
