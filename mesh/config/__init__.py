"""Typed, validated configuration read from TOML (``node.toml``, ``gateway.toml``).

A bad file stops the process at start with the key and the problem named, e.g.
``node.toml: [[datasets]][2].index: directory /x does not exist``. Every table and
key is documented in the README's configuration reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

# DatasetConfig is part of this module's interface (re-exported from its own module).
from mesh.config.datasets import DatasetConfig as DatasetConfig
from mesh.config.datasets import parse_dataset
from mesh.config.http import HttpOptions, parse_http
from mesh.config.table import (
    Table,
    read_address,
    read_assembly,
    read_country,
    read_identifier,
    read_path,
    read_toml,
)
from mesh.config.telemetry import MetricsConfig, TracingConfig, parse_metrics, parse_tracing
from mesh.config.tiers import PRODUCTION, validate_tier
from mesh.errors import ConfigError
from mesh.model.genome import Assembly

T = TypeVar("T")

#: ``[node] catalog_visibility``: what the catalogue shows of a dataset the caller may
#: not query: its id and country, nothing, or everything.
CATALOG_VISIBILITIES = ("existence", "hidden", "full")


@dataclass(frozen=True)
class TlsConfig:
    """``[tls]``: this process's identity and the federation's trust bundle."""

    ca: tuple[Path, ...]
    cert: Path
    key: Path
    #: Revoked serials and SPIFFE IDs (format: :mod:`mesh.security.trust`), re-read when it changes.
    deny_list: Path | None = None


@dataclass(frozen=True)
class PeerConfig:
    """``[[peers]]``: another node this process federates with."""

    id: str
    country: str
    addresses: tuple[str, ...]
    identity: str = ""
    timeout_ms: int | None = None


@dataclass(frozen=True)
class NodeConfig:
    """The whole of ``node.toml``."""

    id: str
    country: str
    listen: str
    datasets: tuple[DatasetConfig, ...]
    tls: TlsConfig | None = None
    peers: tuple[PeerConfig, ...] = ()
    default_assembly: Assembly = Assembly.GRCH38
    references: Mapping[Assembly, Path] = field(default_factory=dict)
    workers: int = 1
    reload_interval_s: float = 2.0
    timeout_ms: int = 5000
    max_batch_variants: int = 10_000
    log_queries: bool = False
    log_json: bool = True
    #: Append-only JSON-lines audit file (one line per request); ``None``: no audit log.
    audit_path: Path | None = None
    #: The node's own state (the query budget ledger); required with any query_budget.
    state_dir: Path | None = None
    #: RPCs in flight beyond this are refused at once with ``RESOURCE_EXHAUSTED``.
    max_concurrent_rpcs: int = 1000
    tracing: TracingConfig = field(default_factory=TracingConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    #: One of :data:`CATALOG_VISIBILITIES`.
    catalog_visibility: str = "existence"
    #: This node's Beacon id (``beaconId`` of its Beacon result sets); empty: derived.
    beacon_id: str = ""
    #: ``production``, ``staging`` or a federation's own; must match the certificate's.
    tier: str = "production"


def default_beacon_id(node_id: str, country: str) -> str:
    """The Beacon id of a node that names none: ``org.allelemesh.<cc>.<node id>``."""
    return f"org.allelemesh.{country.lower()}.{node_id}" if country else f"org.allelemesh.{node_id}"


@dataclass(frozen=True)
class FdpConfig:
    """``[fdp]`` of gateway.toml: the FAIR Data Point at ``/fdp`` on the HTTP port."""

    #: The GDI metadata shapes folder; datasets are published only if they validate.
    #: ``None``: ``$ALLELEMESH_GDI_SHAPES``, else nothing is validated (logged at start).
    shapes: Path | None = None
    title: str = "allelemesh FAIR Data Point"
    publisher: str = "allelemesh federation"


@dataclass(frozen=True)
class GatewayConfig:
    """The whole of ``gateway.toml``: a node without datasets that federates its peers."""

    id: str
    listen: str
    peers: tuple[PeerConfig, ...]
    #: HOST:PORT of the HTTP API (Beacon v2 / JSON); empty: no HTTP API.
    http_listen: str = ""
    #: Default per-peer timeout (a peer's own ``timeout_ms`` wins).
    timeout_ms: int = 5000
    country: str = ""
    tls: TlsConfig | None = None
    #: Seconds between background refreshes of every peer's dataset catalogue.
    catalog_refresh_s: float = 30.0
    #: Key that signs page tokens; gateway replicas behind one address share it so each
    #: accepts the others' tokens. ``None``: a random key per process.
    page_token_secret: bytes | None = None
    #: RPCs in flight beyond this are refused at once with ``RESOURCE_EXHAUSTED``.
    max_concurrent_rpcs: int = 1000
    tracing: TracingConfig = field(default_factory=TracingConfig)
    #: Who owns a dataset id: the ``first`` source to announce it, or ``country-prefix``.
    dataset_ownership: str = "first"
    #: ``[http]``: public URL and request-head deadline of the HTTP API.
    http: HttpOptions = field(default_factory=HttpOptions)
    fdp: FdpConfig = field(default_factory=FdpConfig)
    #: ``[references]``: FASTAs that translate HGVS indels at the HTTP edge.
    references: Mapping[Assembly, Path] = field(default_factory=dict)
    #: ``[genes]``: GTF/BED gene files per assembly (GRCh38 has a shipped table).
    genes: Mapping[Assembly, Path] = field(default_factory=dict)
    #: ``[audit] path``: the gateway's own audit log (``None``: none).
    audit_path: Path | None = None
    #: The assembly of a request that names none (a Beacon query without ``assemblyId``).
    default_assembly: Assembly = Assembly.GRCH38
    #: ``production``, ``staging`` or a federation's own; must match the certificate's.
    tier: str = "production"
    #: Seconds between runs of the continuous ``mesh check`` (0: off).
    mesh_check_interval_s: float = 300.0
    #: ``mesh check`` latency: p50 of health calls above this is a warning.
    mesh_check_latency_warn_ms: float = 500.0
    #: Mesh-wide floor in individuals, on top of every node's own.
    min_individuals: int = 0


def _max_concurrent_rpcs(table: Table) -> int:
    value = table.get("max_concurrent_rpcs", int, 1000)
    if value < 1:
        raise table.fail("max_concurrent_rpcs", "must be at least 1")
    return value


def _tier(table: Table) -> str:
    value = table.get("tier", str, PRODUCTION)
    try:
        return validate_tier(value, table.where("tier"))
    except ConfigError as exc:
        raise ConfigError(exc.message, metadata={"key": table.where("tier")}) from None


def parse_tls(root: Table, base: Path) -> TlsConfig | None:
    """Read the optional ``[tls]`` table."""
    tls = root.table("tls")
    if tls is None:
        return None
    ca_value = tls.data.get("ca")
    ca: tuple[Path, ...]
    if isinstance(ca_value, str):
        ca = (read_path(tls, "ca", base),)
    else:
        items = tls.get("ca", list, required=True)
        ca = tuple(read_path(Table(tls.source, tls.path, {"ca": v}), "ca", base) for v in items)
    deny_list = read_path(tls, "deny_list", base) if "deny_list" in tls.data else None
    config = TlsConfig(
        ca=ca,
        cert=read_path(tls, "cert", base),
        key=read_path(tls, "key", base),
        deny_list=deny_list,
    )
    tls.reject_unknown()
    return config


def parse_peers(root: Table) -> tuple[PeerConfig, ...]:
    """Read ``[[peers]]`` entries (``address`` or a list of replica ``addresses``)."""
    peers = []
    seen: set[str] = set()
    for table in root.tables("peers"):
        peer_id = read_identifier(table, "id")
        if peer_id in seen:
            raise table.fail("id", f"peer {peer_id!r} is listed twice")
        seen.add(peer_id)
        if "addresses" in table.data:
            raw = table.get("addresses", list, required=True)
            if not raw or not all(isinstance(a, str) for a in raw):
                raise table.fail("addresses", "must be a non-empty list of HOST:PORT strings")
            addresses = tuple(read_address(table, "addresses", a) for a in raw)
        else:
            addresses = (read_address(table, "address", table.get("address", str, required=True)),)
        timeout = table.optional("timeout_ms", int)
        if timeout is not None and timeout <= 0:
            raise table.fail("timeout_ms", "must be a positive number of milliseconds")
        peers.append(
            PeerConfig(
                id=peer_id,
                country=read_country(table),
                addresses=addresses,
                identity=table.get("identity", str, ""),
                timeout_ms=timeout,
            )
        )
        table.reject_unknown()
    return tuple(peers)


def _references(root: Table, base: Path, name: str = "references") -> dict[Assembly, Path]:
    """``[references]`` (or ``[genes]``): one file per assembly (``GRCh38 = "ref.fa"``)."""
    references: dict[Assembly, Path] = {}
    ref_table = root.table(name)
    if ref_table is not None:
        for key in list(ref_table.data):
            references[read_assembly(ref_table, key, key)] = read_path(ref_table, key, base)
    return references


def load_node_config(path: Path) -> NodeConfig:
    """Read and validate ``node.toml``."""
    root = Table(str(path), "", read_toml(path))
    base = path.parent
    node = root.table("node")
    if node is None:
        raise root.fail("node", "is required: a [node] table with id, country and listen")
    datasets = []
    seen: set[str] = set()
    for table in root.tables("datasets"):
        dataset_id = read_identifier(table, "id")
        if dataset_id in seen:
            raise table.fail("id", f"dataset {dataset_id!r} is listed twice")
        seen.add(dataset_id)
        datasets.append(parse_dataset(table, dataset_id, base))
        table.reject_unknown()
    references = _references(root, base)
    audit_path = _audit_path(root, base)
    workers = node.get("workers", int, 1)
    if workers < 1:
        raise node.fail("workers", "must be at least 1")
    visibility = node.get("catalog_visibility", str, "existence")
    if visibility not in CATALOG_VISIBILITIES:
        raise node.fail(
            "catalog_visibility", f"{visibility!r} must be one of {', '.join(CATALOG_VISIBILITIES)}"
        )
    state_dir = None
    if node.optional("state_dir", str) is not None:
        state_dir = read_path(node, "state_dir", base, must_exist=False)
    budgeted = [d.id for d in datasets if d.query_budget is not None]
    if budgeted and state_dir is None:
        raise node.fail(
            "state_dir",
            f"is required when a dataset has a query_budget ({', '.join(budgeted)}): "
            "the budget ledger lives there, shared by every worker and kept across restarts",
        )
    config = NodeConfig(
        id=read_identifier(node, "id"),
        country=read_country(node),
        listen=read_address(node, "listen", node.get("listen", str, required=True)),
        datasets=tuple(datasets),
        tls=parse_tls(root, base),
        peers=parse_peers(root),
        default_assembly=read_assembly(
            node, "default_assembly", node.get("default_assembly", str, "GRCh38")
        ),
        references=references,
        workers=workers,
        reload_interval_s=node.get("reload_interval_s", float, 2.0),
        timeout_ms=node.get("timeout_ms", int, 5000),
        max_batch_variants=node.get("max_batch_variants", int, 10_000),
        log_queries=node.get("log_queries", bool, False),
        log_json=node.get("log_json", bool, True),
        audit_path=audit_path,
        state_dir=state_dir,
        max_concurrent_rpcs=_max_concurrent_rpcs(node),
        tracing=parse_tracing(root, base),
        metrics=parse_metrics(root),
        catalog_visibility=visibility,
        beacon_id=node.get("beacon_id", str, "").strip(),
        tier=_tier(node),
    )
    node.reject_unknown()
    root.reject_unknown()
    return config


def _audit_path(root: Table, base: Path) -> Path | None:
    audit = root.table("audit")
    if audit is None:
        return None
    path = read_path(audit, "path", base, must_exist=False)
    audit.reject_unknown()
    return path


#: Shortest page-token key accepted from a file (HMAC-SHA256 wants 32 bytes or more).
MIN_SECRET_BYTES = 32


def _secret_file(table: Table, base: Path) -> bytes | None:
    """``page_token_secret_file``: the bytes of a file shared by the replicas."""
    if "page_token_secret_file" not in table.data:
        table.optional("page_token_secret_file", str)
        return None
    path = read_path(table, "page_token_secret_file", base)
    secret = path.read_bytes().strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise table.fail(
            "page_token_secret_file",
            f"{path} holds {len(secret)} bytes; use at least {MIN_SECRET_BYTES} random bytes "
            "(e.g. `openssl rand -hex 32`)",
        )
    return secret


def _non_negative(table: Table, key: str, default: float) -> float:
    value = table.get(key, float, default)
    if value < 0:
        raise table.fail(key, "must not be negative")
    return value


def _ownership(table: Table) -> str:
    value = table.get("dataset_ownership", str, "first")
    if value not in ("first", "country-prefix"):
        raise table.fail("dataset_ownership", f"{value!r} must be first or country-prefix")
    return value


def _fdp(root: Table, base: Path) -> FdpConfig:
    table = root.table("fdp")
    if table is None:
        return FdpConfig()
    shapes = read_path(table, "shapes", base) if "shapes" in table.data else None
    config = FdpConfig(
        shapes=shapes,
        title=table.get("title", str, FdpConfig.title),
        publisher=table.get("publisher", str, FdpConfig.publisher),
    )
    table.reject_unknown()
    return config


def load_gateway_config(path: Path) -> GatewayConfig:
    """Read and validate ``gateway.toml``."""
    root = Table(str(path), "", read_toml(path))
    gateway = root.table("gateway")
    if gateway is None:
        raise root.fail("gateway", "is required: a [gateway] table with id and listen")
    http_listen = gateway.get("http_listen", str, "")
    if http_listen:
        read_address(gateway, "http_listen", http_listen)
    timeout_ms = gateway.get("timeout_ms", int, 5000)
    if timeout_ms <= 0:
        raise gateway.fail("timeout_ms", "must be a positive number of milliseconds")
    refresh = gateway.get("catalog_refresh_s", float, 30.0)
    if refresh <= 0:
        raise gateway.fail("catalog_refresh_s", "must be a positive number of seconds")
    config = GatewayConfig(
        id=read_identifier(gateway, "id"),
        listen=read_address(gateway, "listen", gateway.get("listen", str, required=True)),
        peers=parse_peers(root),
        http_listen=http_listen,
        timeout_ms=timeout_ms,
        country=read_country(gateway) if "country" in gateway.data else "",
        tls=parse_tls(root, path.parent),
        catalog_refresh_s=refresh,
        page_token_secret=_secret_file(gateway, path.parent),
        max_concurrent_rpcs=_max_concurrent_rpcs(gateway),
        tracing=parse_tracing(root, path.parent),
        dataset_ownership=_ownership(gateway),
        http=parse_http(root, path.parent),
        fdp=_fdp(root, path.parent),
        references=_references(root, path.parent),
        genes=_references(root, path.parent, "genes"),
        audit_path=_audit_path(root, path.parent),
        default_assembly=read_assembly(
            gateway, "default_assembly", gateway.get("default_assembly", str, "GRCh38")
        ),
        tier=_tier(gateway),
        mesh_check_interval_s=_non_negative(gateway, "mesh_check_interval_s", 300.0),
        mesh_check_latency_warn_ms=_non_negative(gateway, "mesh_check_latency_warn_ms", 500.0),
        min_individuals=gateway.get("min_individuals", int, 0),
    )
    if config.min_individuals < 0:
        raise gateway.fail("min_individuals", "must not be negative")
    if not config.peers:
        raise root.fail("peers", "is required: a gateway needs at least one [[peers]] entry")
    gateway.reject_unknown()
    root.reject_unknown()
    return config
