"""A node with ``[[peers]]`` and ``--workers N``: a mesh-wide page token works at every worker.

``serve_forever`` gives each worker process the same page-token secret; here two
"workers" of one node are two ``start_node`` calls with that secret (ports of their
own, as the kernel would hand one connection to either). A mesh-scope region page
signed by one must be resumed by the other, exactly as by the signer.
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

import grpc

from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from nodes.serve.server import start_node
from tests.gateway.conftest import Country
from tests.mesh_harness import NodeSpec, peer_of, running_nodes


def _request(chromosome: str, token: str = "") -> allele_service_pb2.SearchRegionRequest:
    return allele_service_pb2.SearchRegionRequest(
        region=allele_pb2.Region(chromosome=chromosome, start=1, end=1_000_000),
        page_size=5,
        page_token=token,
        scope=allele_pb2.SCOPE_MESH,
    )


async def _page(port: int, chromosome: str, token: str = "") -> tuple[list[tuple], str]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
        response = await stub.SearchRegion(_request(chromosome, token), timeout=10)
    rows = [
        (f.node_id, f.dataset_id, f.variant.position, f.variant.alternate_bases)
        for f in response.frequencies
    ]
    return rows, response.next_page_token


async def test_a_page_token_signed_by_one_worker_is_resumed_by_another(
    countries: list[Country], tmp_path: Path
) -> None:
    fi, others = countries[1], [countries[0], countries[2]]
    chromosome = sorted(next(iter(fi.expected.values())))[0][0]
    secret = secrets.token_bytes(32)  # what serve_forever hands every worker
    async with running_nodes([c.spec() for c in others]) as peers:
        peer_configs = [peer_of(c.node_id, c.country, peers[c.node_id].port) for c in others]
        spec = NodeSpec(fi.node_id, fi.country, fi.indexes, peers=peer_configs)
        # The second worker reads copies: LMDB opens an environment once per process.
        copies = [shutil.copytree(p, tmp_path / p.name) for p in fi.indexes]
        twin = NodeSpec(fi.node_id, fi.country, copies, peers=peer_configs)
        workers = [await start_node(spec.config(), insecure=True, page_token_secret=secret)]
        try:
            workers.append(await start_node(twin.config(), insecure=True, page_token_secret=secret))
            for worker in workers:
                await worker.mesh.catalog.refresh()  # type: ignore[union-attr]  # peers known
            first, token = await _page(workers[0].port, chromosome)
            assert first
            assert token
            by_signer, _ = await _page(workers[0].port, chromosome, token)
            by_other, _ = await _page(workers[1].port, chromosome, token)
        finally:
            for worker in workers:
                await worker.stop(0)
    assert by_signer
    assert by_other == by_signer
    assert not set(by_signer) & set(first)
