"""``allelemesh gateway serve`` as a process: config, serving, health, SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile

import grpc

from mesh.v1 import allele_pb2, allele_service_pb2, allele_service_pb2_grpc
from tests.mesh_harness import REPO, free_port, node_process, wait_for_health


def test_gateway_serve_process(countries, tmp_path):
    lu = countries[2]
    chrom, pos, ref, alt = sorted(lu.expected["lu-a"])[0]
    with node_process(lu.indexes, lu.node_id, lu.country) as node:
        port = free_port()
        config = tmp_path / "gateway.toml"
        config.write_text(
            f'[gateway]\nid = "gw-1"\nlisten = "127.0.0.1:{port}"\ntimeout_ms = 2000\n\n'
            f'[[peers]]\nid = "lu-lux"\ncountry = "LU"\naddress = "{node.address}"\n'
        )
        with tempfile.TemporaryFile() as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "mesh", "gateway", "serve", "--config", str(config),
                 "--insecure"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=log,
            )  # fmt: skip
            try:
                wait_for_health(f"127.0.0.1:{port}", 30)
                with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                    stub = allele_service_pb2_grpc.AlleleFrequencyServiceStub(channel)
                    response = stub.LookupVariant(
                        allele_service_pb2.LookupVariantRequest(
                            variant=allele_pb2.Variant(
                                chromosome=chrom, position=pos, reference_bases=ref,
                                alternate_bases=alt,
                            )
                        ),
                        timeout=5,
                    )  # fmt: skip
                assert [o.node_id for o in response.outcomes] == ["lu-lux"]
                assert response.frequencies[0].country == "LU"
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=15) == 0
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)


def test_gateway_serve_without_tls_or_insecure_is_a_config_error(tmp_path):
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[gateway]\nid = "gw-1"\nlisten = "127.0.0.1:1"\n\n'
        '[[peers]]\nid = "a"\ncountry = "LU"\naddress = "127.0.0.1:2"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "mesh", "gateway", "serve", "--config", str(config)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--insecure" in result.stderr


async def test_start_gateway_starts_the_http_api_in_the_same_loop(countries):
    import httpx
    import pytest

    pytest.importorskip("gateway.http.app")
    from gateway.server import start_gateway
    from mesh.config import GatewayConfig
    from tests.mesh_harness import fast_settings, peer_of, running_nodes

    async with running_nodes([countries[0].spec()]) as nodes:
        config = GatewayConfig(
            id="gw-http",
            listen="127.0.0.1:0",
            peers=(peer_of("no-oslo", "NO", nodes["no-oslo"].port),),
            http_listen="127.0.0.1:0",
        )
        gateway = await start_gateway(config, insecure=True, settings=fast_settings())
        try:
            assert gateway.http is not None
            async with httpx.AsyncClient(base_url=gateway.http.url, timeout=5) as client:
                reply = await client.get("/api/info")
            assert reply.status_code < 500
        finally:
            await gateway.stop(0)
