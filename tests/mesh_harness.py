"""Real nodes and gateways on loopback, in-process or as processes, for integration tests.

Everything here starts real servers on ephemeral ``127.0.0.1`` ports and stops them
in ``finally``; nothing is mocked. Typical use::

    records = random_sites(random.Random(1), 50)
    index = write_dataset(tmp_path, "no-ds", records)          # VCF -> real index
    async with running_mesh([NodeSpec("no-1", "NO", [index])]) as mesh:
        response = await mesh.allele.LookupVariant(request, timeout=5)
    expected = expected_totals(records)                        # computed from the records

* :func:`write_dataset` / :func:`random_sites` / :func:`expected_totals`: datasets and
  their independent expected counts (via :mod:`tests.vcf_factory`).
* :func:`running_nodes`, :func:`running_gateway`, :func:`running_mesh`: in-process
  nodes (``nodes.serve.server.start_node``) and a gateway (``gateway.server.start_gateway``).
* :func:`node_process`: a node in its own process (``python -m mesh node serve``),
  ready once gRPC health says ``SERVING``.
* :class:`CallCounter`: counts the RPCs a running node actually served.

Slow and failing peers (``DelayProxy``, ``failing_server``) are in
:mod:`tests.misbehaving_peers`.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.server import RunningGateway, start_gateway
from mesh.config import DatasetConfig, GatewayConfig, NodeConfig, PeerConfig, TlsConfig
from mesh.federation import FederationSettings
from mesh.model.genome import Assembly
from mesh.plumbing.channels import open_channel
from mesh.v1 import allele_service_pb2_grpc, catalog_service_pb2_grpc
from nodes.build.builder import BuildOptions, build_index
from nodes.serve.server import RunningNode, start_node
from tests.vcf_factory import Counts, GroupCounts, SiteRecord, expected_site_counts, write_sites_vcf

REPO = Path(__file__).resolve().parent.parent
#: (chromosome, position, ref, alt)
VariantTuple = tuple[str, int, str, str]


# ----------------------------------------------------------------------------- datasets


def random_sites(
    rng: random.Random,
    count: int,
    *,
    chromosomes: Sequence[str] = ("1", "2"),
    span: int = 5_000,
    start: int = 100_000,
    multiallelic: float = 0.2,
) -> list[SiteRecord]:
    """``count`` SNV records at distinct positions (some multi-allelic), sorted."""
    positions: set[tuple[str, int]] = set()
    while len(positions) < count:
        positions.add((rng.choice(chromosomes), start + rng.randrange(span)))
    records = []
    for chrom, pos in sorted(positions, key=lambda p: (int(p[0]) if p[0].isdigit() else 99, p[1])):
        ref = rng.choice("ACGT")
        others = [b for b in "ACGT" if b != ref]
        alts = rng.sample(others, 2 if rng.random() < multiallelic else 1)
        an = rng.randrange(200, 2000, 2)
        ac = [rng.randrange(1, an // 4) for _ in alts]
        hom = [rng.randrange(0, a // 2 + 1) for a in ac]
        records.append(SiteRecord(chrom, pos, ref, alts, GroupCounts(an=an, ac=ac, hom=hom)))
    return records


def write_dataset(
    directory: Path,
    dataset_id: str,
    records: Sequence[SiteRecord],
    *,
    assembly: str = "GRCh38",
    populations: Sequence[str] = (),
    style: str = "gnomad",
    **options: Any,
) -> Path:
    """Write ``records`` as a bgzipped sites VCF and build a real index; return its dir.

    ``populations`` and ``style`` say how the VCF is written (``tests.vcf_factory``);
    ``options`` go to ``BuildOptions`` (``title``, ``description``, ``metadata``, ...).
    """
    directory.mkdir(parents=True, exist_ok=True)
    vcf = write_sites_vcf(
        directory / f"{dataset_id}.vcf",
        records,
        populations,
        style=style,
        assembly=assembly,
        bgzip=True,
    )
    out = directory / dataset_id
    build_index(
        BuildOptions(
            inputs=[vcf],
            dataset_id=dataset_id,
            out=out,
            assembly=Assembly(assembly),
            progress=False,
            **options,
        )
    )
    return out


def expected_totals(
    records: Sequence[SiteRecord], assembly: str = "GRCh38"
) -> dict[VariantTuple, Counts]:
    """Per split allele, the dataset-wide (AC, AN, hom, het, hemi) the records should give."""
    result = {}
    for rec in records:
        for alt, counts in zip(rec.alts, expected_site_counts(rec, assembly), strict=True):
            result[(rec.chrom, rec.pos, rec.ref, alt)] = counts[""]
    return result


# ----------------------------------------------------------------------------- in-process


def free_port() -> int:
    """A loopback port that was free a moment ago (for configs that must name a port)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dead_address() -> str:
    """``127.0.0.1:PORT`` where nothing listens (a peer that is down)."""
    return f"127.0.0.1:{free_port()}"


@contextlib.contextmanager
def held_port() -> Iterator[int]:
    """A loopback port this test process listens on (busy for a server, no allelemesh lock)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@dataclass
class NodeSpec:
    """A node to start: its datasets and, for node-to-node federation, its peers."""

    id: str
    country: str
    indexes: Sequence[Path]
    peers: Sequence[PeerConfig] = ()
    listen: str = "127.0.0.1:0"
    timeout_ms: int = 5000

    def config(self) -> NodeConfig:
        """The ``NodeConfig`` (index reload polling off: tests do not rebuild)."""
        from nodes.index.index_dir import read_metadata

        datasets = tuple(DatasetConfig(read_metadata(p).id, p) for p in self.indexes)
        return NodeConfig(
            id=self.id,
            country=self.country,
            listen=self.listen,
            datasets=datasets,
            peers=tuple(self.peers),
            reload_interval_s=0,
            timeout_ms=self.timeout_ms,
        )


def peer_of(node_id: str, country: str, *ports: int, timeout_ms: int | None = None) -> PeerConfig:
    """A ``[[peers]]`` entry for loopback ``ports`` (several ports: replicas)."""
    return PeerConfig(
        id=node_id,
        country=country,
        addresses=tuple(f"127.0.0.1:{p}" for p in ports),
        timeout_ms=timeout_ms,
    )


@contextlib.asynccontextmanager
async def running_nodes(specs: Sequence[NodeSpec]) -> AsyncIterator[dict[str, RunningNode]]:
    """Start every node (insecure, loopback); stop them all on exit."""
    nodes: dict[str, RunningNode] = {}
    try:
        for spec in specs:
            nodes[spec.id] = await start_node(spec.config(), insecure=True)
        yield nodes
    finally:
        for node in nodes.values():
            await node.stop(0)


@dataclass
class GatewayClient:
    """A started gateway and stubs on one channel to it."""

    gateway: RunningGateway
    channel: grpc.aio.Channel
    allele: allele_service_pb2_grpc.AlleleFrequencyServiceStub = field(init=False)
    catalog: catalog_service_pb2_grpc.CatalogServiceStub = field(init=False)

    def __post_init__(self) -> None:
        self.allele = allele_service_pb2_grpc.AlleleFrequencyServiceStub(self.channel)
        self.catalog = catalog_service_pb2_grpc.CatalogServiceStub(self.channel)


def fast_settings(**overrides: Any) -> FederationSettings:
    """Federation settings for tests: short timeouts, no background catalogue refresh."""
    values: dict[str, Any] = {
        "timeout_s": 2.0,
        "catalog_refresh_s": 3600.0,
        "catalog_timeout_s": 0.5,
        **overrides,
    }
    return FederationSettings(**values)


@contextlib.asynccontextmanager
async def running_gateway(
    peers: Sequence[PeerConfig],
    *,
    settings: FederationSettings | None = None,
    timeout_ms: int = 2000,
    genes: dict[Assembly, Path] | None = None,
) -> AsyncIterator[GatewayClient]:
    """Start a gateway over ``peers`` (with ``[genes]`` files) and open a client channel."""
    config = GatewayConfig(
        id="gw-test",
        listen="127.0.0.1:0",
        peers=tuple(peers),
        timeout_ms=timeout_ms,
        genes=genes or {},
    )
    gateway = await start_gateway(config, insecure=True, settings=settings or fast_settings())
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}")
    try:
        yield GatewayClient(gateway, channel)
    finally:
        await channel.close()
        await gateway.stop(0)


@dataclass
class Mesh:
    """Running nodes plus a gateway over all of them."""

    nodes: dict[str, RunningNode]
    client: GatewayClient

    @property
    def allele(self) -> allele_service_pb2_grpc.AlleleFrequencyServiceStub:
        """``AlleleFrequencyService`` stub on the gateway."""
        return self.client.allele

    @property
    def catalog(self) -> catalog_service_pb2_grpc.CatalogServiceStub:
        """``CatalogService`` stub on the gateway."""
        return self.client.catalog


@contextlib.asynccontextmanager
async def running_mesh(
    specs: Sequence[NodeSpec],
    *,
    settings: FederationSettings | None = None,
    genes: dict[Assembly, Path] | None = None,
) -> AsyncIterator[Mesh]:
    """Start the nodes, then a gateway listing each of them as a peer, in ``specs`` order."""
    async with running_nodes(specs) as nodes:
        peers = [peer_of(s.id, s.country, nodes[s.id].port) for s in specs]
        async with running_gateway(peers, settings=settings, genes=genes) as client:
            yield Mesh(nodes, client)


class CallCounter:
    """Counts the lookups a running node served, by wrapping its ``LocalLookup`` methods."""

    METHODS = ("lookup_variant", "batch_lookup", "search_region")

    def __init__(self, node: RunningNode) -> None:
        self.calls: Counter[str] = Counter()
        for name in self.METHODS:
            original = getattr(node.lookup, name)
            setattr(node.lookup, name, self._wrap(name, original))

    def _wrap(self, name: str, original: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return original(*args, **kwargs)

        return counted


# ----------------------------------------------------------------------------- processes


def wait_for_health(address: str, timeout_s: float = 20.0, *, tls: TlsConfig | None = None) -> None:
    """Block until ``address`` answers gRPC health ``SERVING`` (bounded by ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    with open_channel(address, tls) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise TimeoutError(f"{address} did not become healthy within {timeout_s} s")


@dataclass
class NodeProcess:
    """A node running in its own process."""

    process: subprocess.Popen[bytes]
    port: int
    node_id: str

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``."""
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: the node dies without a goodbye, as in a crash."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@contextlib.contextmanager
def node_process(
    indexes: Sequence[Path],
    node_id: str,
    country: str,
    *,
    port: int | None = None,
    startup_timeout_s: float = 30.0,
    config: Path | None = None,
) -> Iterator[NodeProcess]:
    """Run ``python -m mesh node serve --index ... --insecure``; kill it on exit.

    With ``config`` (a node.toml), that file is served instead (``indexes``, ``node_id``
    and ``country`` then only name the node in messages); ``--listen`` still wins.
    """
    port = port or free_port()
    command = [sys.executable, "-m", "mesh", "node", "serve", "--listen", f"127.0.0.1:{port}",
               "--insecure"]  # fmt: skip
    if config is not None:
        command += ["--config", str(config)]
    else:
        command += ["--node-id", node_id, "--country", country]
        for index in indexes:
            command += ["--index", str(index)]
    # A file, not a pipe: a node logs every request and would block on a full pipe.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log)
    node = NodeProcess(process, port, node_id)
    try:
        try:
            wait_for_health(node.address, startup_timeout_s)
        except TimeoutError:
            node.kill()
            log.seek(0)
            stderr = log.read().decode(errors="replace")
            raise TimeoutError(f"node {node_id} did not start:\n{stderr[-2000:]}") from None
        yield node
    finally:
        node.kill()
        log.close()
