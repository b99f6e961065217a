"""Typed, validated configuration read from TOML (``node.toml``, ``gateway.toml``).

A bad file stops the process at start with the key and the problem named, e.g.
``node.toml: [[datasets]][2].index: directory /x does not exist``. Every table and
key is documented in the README's configuration reference.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mesh.errors import ConfigError
from mesh.genome import Assembly
from mesh.http_config import HttpOptions, parse_http
from mesh.tiers import PRODUCTION, validate_tier
from mesh.tracing import MetricsConfig, TracingConfig, parse_metrics, parse_tracing

T = TypeVar("T")

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ADDRESS = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$")
#: ``[node] catalog_visibility``: what the catalogue shows of a dataset the caller may
#: not query: its id and country, nothing, or everything.
CATALOG_VISIBILITIES = ("existence", "hidden", "full")


@dataclass(frozen=True)
class TlsConfig:
    """``[tls]``: this process's identity and the federation's trust bundle."""

    ca: tuple[Path, ...]
    cert: Path
    key: Path
    #: Revoked serials and SPIFFE IDs (format: :mod:`mesh.trust`), re-read when it changes.
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
class DatasetConfig:
    """``[[datasets]]``: one index directory served by a node, and its release policy."""

    id: str
    index: Path
    log_queries: bool = False
    #: SPIFFE ID patterns that may query; ``None`` means everyone.
    allow: tuple[str, ...] | None = None
    #: pattern -> ``boolean`` | ``count`` | ``record`` (default ``record``).
    granularity: Mapping[str, str] = field(default_factory=dict)
    min_allele_count: int = 0
    round_counts_to: int = 0
    min_population_size: int = 0
    #: Floor in individuals (two-tailed; ``min_allele_count`` is its allele form).
    min_individuals: int = 0
    #: ``suppress`` (complementary suppression) or ``collapse`` (rows to the total).
    on_suppression: str = "suppress"
    #: Declared population partitions ``(parent, cells)``; ``None``: the label rule.
    partitions: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    #: ``(lookups, per_seconds)``: rows per origin per sliding window (nodes.budgets).
    query_budget: tuple[int, float] | None = None


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


class _Table:
    """A TOML table with the path that names it in error messages."""

    def __init__(self, source: str, path: str, data: Mapping[str, Any]) -> None:
        self.source, self.path, self.data = source, path, data
        self._used: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.source}: {self.path}.{key}" if self.path else f"{self.source}: {key}"

    def fail(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.where(key)}: {problem}", metadata={"key": self.where(key)})

    def get(
        self, key: str, kind: type[T], default: T | None = None, *, required: bool = False
    ) -> T:
        self._used.add(key)
        if key not in self.data:
            if required or default is None:
                raise self.fail(key, "is required" + self._misspelling_of(key))
            return default
        value = self.data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(key, f"must be a {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    def _misspelling_of(self, key: str) -> str:
        """`` (found unknown key 'idd': a misspelling of 'id'?)``, or nothing."""
        unknown = [k for k in self.data if k not in self._used]
        close = difflib.get_close_matches(key, unknown, n=1, cutoff=0.6)
        return f" (found unknown key {close[0]!r}: a misspelling of {key!r}?)" if close else ""

    def optional(self, key: str, kind: type[T]) -> T | None:
        if key not in self.data:
            self._used.add(key)
            return None
        return self.get(key, kind)

    def table(self, key: str) -> _Table | None:
        self._used.add(key)
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return _Table(self.source, f"[{key}]" if not self.path else f"{self.path}.{key}", value)

    def tables(self, key: str) -> list[_Table]:
        self._used.add(key)
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(key, "must be an array of tables ([[" + key + "]])")
        return [_Table(self.source, f"[[{key}]][{i}]", v) for i, v in enumerate(value)]

    def reject_unknown(self) -> None:
        unknown = sorted(set(self.data) - self._used)
        if unknown:
            raise self.fail(unknown[0], "is not a known key (check its spelling)")


def _max_concurrent_rpcs(table: _Table) -> int:
    value = table.get("max_concurrent_rpcs", int, 1000)
    if value < 1:
        raise table.fail("max_concurrent_rpcs", "must be at least 1")
    return value


def _tier(table: _Table) -> str:
    value = table.get("tier", str, PRODUCTION)
    try:
        return validate_tier(value, table.where("tier"))
    except ConfigError as exc:
        raise ConfigError(exc.message, metadata={"key": table.where("tier")}) from None


def _identifier(table: _Table, key: str) -> str:
    value = table.get(key, str, required=True)
    if not _ID.match(value):
        raise table.fail(key, f"{value!r} must be 1-128 letters, digits, '.', '_' or '-'")
    return value


def _country(table: _Table, key: str = "country") -> str:
    value = table.get(key, str, required=True)
    if not _COUNTRY.match(value):
        raise table.fail(key, f"{value!r} must be an ISO 3166-1 alpha-2 code such as NO or FI")
    return value


def _address(table: _Table, key: str, value: str) -> str:
    if not _ADDRESS.match(value) or not 0 <= int(value.rsplit(":", 1)[1]) <= 65535:
        raise table.fail(key, f"{value!r} must be HOST:PORT (IPv6 as [::1]:PORT)")
    return value


def _path(table: _Table, key: str, base: Path, *, must_exist: bool = True) -> Path:
    path = Path(table.get(key, str, required=True)).expanduser()
    if not path.is_absolute():
        path = base / path
    if must_exist and not path.exists():
        raise table.fail(key, f"{path} does not exist")
    return path


def _assembly(table: _Table, key: str, value: str) -> Assembly:
    for assembly in Assembly:
        if value.lower() == assembly.value.lower():
            return assembly
    raise table.fail(key, f"{value!r} must be one of {', '.join(a.value for a in Assembly)}")


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, naming the file and line of a syntax error."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (TOML must be UTF-8): {exc}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a configuration file") from None


def parse_tls(root: _Table, base: Path) -> TlsConfig | None:
    """Read the optional ``[tls]`` table."""
    tls = root.table("tls")
    if tls is None:
        return None
    ca_value = tls.data.get("ca")
    ca: tuple[Path, ...]
    if isinstance(ca_value, str):
        ca = (_path(tls, "ca", base),)
    else:
        items = tls.get("ca", list, required=True)
        ca = tuple(_path(_Table(tls.source, tls.path, {"ca": v}), "ca", base) for v in items)
    deny_list = _path(tls, "deny_list", base) if "deny_list" in tls.data else None
    config = TlsConfig(
        ca=ca, cert=_path(tls, "cert", base), key=_path(tls, "key", base), deny_list=deny_list
    )
    tls.reject_unknown()
    return config


def parse_peers(root: _Table) -> tuple[PeerConfig, ...]:
    """Read ``[[peers]]`` entries (``address`` or a list of replica ``addresses``)."""
    peers = []
    seen: set[str] = set()
    for table in root.tables("peers"):
        peer_id = _identifier(table, "id")
        if peer_id in seen:
            raise table.fail("id", f"peer {peer_id!r} is listed twice")
        seen.add(peer_id)
        if "addresses" in table.data:
            raw = table.get("addresses", list, required=True)
            if not raw or not all(isinstance(a, str) for a in raw):
                raise table.fail("addresses", "must be a non-empty list of HOST:PORT strings")
            addresses = tuple(_address(table, "addresses", a) for a in raw)
        else:
            addresses = (_address(table, "address", table.get("address", str, required=True)),)
        timeout = table.optional("timeout_ms", int)
        if timeout is not None and timeout <= 0:
            raise table.fail("timeout_ms", "must be a positive number of milliseconds")
        peers.append(
            PeerConfig(
                id=peer_id,
                country=_country(table),
                addresses=addresses,
                identity=table.get("identity", str, ""),
                timeout_ms=timeout,
            )
        )
        table.reject_unknown()
    return tuple(peers)


_GRANULARITIES = ("boolean", "count", "record")
_SPIFFE_PATTERN = re.compile(r"^(\*|spiffe://[A-Za-z0-9.*-]+(/[A-Za-z0-9._*-]+)*)$")


def _dataset(table: _Table, dataset_id: str, base: Path) -> DatasetConfig:
    """One ``[[datasets]]`` entry with its access and privacy keys."""
    allow: tuple[str, ...] | None = None
    if "allow" in table.data:
        raw = table.get("allow", list, required=True)
        if not all(isinstance(p, str) and _SPIFFE_PATTERN.match(p) for p in raw):
            raise table.fail(
                "allow",
                "must be a list of SPIFFE ID patterns such as "
                '"spiffe://allelemesh.example/country/*/gateway/*" (or "*")',
            )
        allow = tuple(raw)
    granularity: dict[str, str] = {}
    grain_table = table.table("granularity")
    if grain_table is not None:
        for pattern, value in grain_table.data.items():
            if value not in _GRANULARITIES:
                raise grain_table.fail(
                    pattern, f"{value!r} must be one of {', '.join(_GRANULARITIES)}"
                )
            if allow is None or pattern not in allow:
                raise grain_table.fail(pattern, "names a pattern that is not in allow")
            granularity[pattern] = value
    round_to = table.get("round_counts_to", int, 0)
    if round_to not in (0, 1, 10, 100):
        raise table.fail("round_counts_to", "must be 10 or 100 (or 0 for no rounding)")
    budget = None
    budget_table = table.table("query_budget")
    if budget_table is not None:
        lookups = budget_table.get("lookups", int, required=True)
        per_seconds = budget_table.get("per_seconds", float, required=True)
        if lookups < 1 or per_seconds <= 0:
            raise budget_table.fail("lookups", "lookups and per_seconds must be positive")
        budget_table.reject_unknown()
        budget = (lookups, per_seconds)
    minimums = {}
    for key in ("min_allele_count", "min_population_size", "min_individuals"):
        minimums[key] = table.get(key, int, 0)
        if minimums[key] < 0:
            raise table.fail(key, "must not be negative")
    return DatasetConfig(
        id=dataset_id,
        index=_path(table, "index", base),
        log_queries=table.get("log_queries", bool, False),
        allow=allow,
        granularity=granularity,
        round_counts_to=round_to,
        query_budget=budget,
        on_suppression=_on_suppression(table),
        partitions=_partitions(table),
        **minimums,
    )


def _references(root: _Table, base: Path) -> dict[Assembly, Path]:
    """``[references]``: one reference FASTA per assembly (``GRCh38 = "ref.fa"``)."""
    references: dict[Assembly, Path] = {}
    ref_table = root.table("references")
    if ref_table is not None:
        for key in list(ref_table.data):
            references[_assembly(ref_table, key, key)] = _path(ref_table, key, base)
    return references


_ON_SUPPRESSION = ("suppress", "collapse")


def _on_suppression(table: _Table) -> str:
    value = table.get("on_suppression", str, "suppress")
    if value not in _ON_SUPPRESSION:
        raise table.fail("on_suppression", f"{value!r} must be one of {', '.join(_ON_SUPPRESSION)}")
    return value


def _partitions(table: _Table) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """``partitions = [{ of = "Total", cells = ["M", "F"] }, ...]``: declared partitions."""
    raw = table.optional("partitions", list)
    if raw is None:
        return None
    declared = []
    for i, entry in enumerate(raw):
        parent = entry.get("of") if isinstance(entry, dict) else None
        cells = entry.get("cells") if isinstance(entry, dict) else None
        if not (isinstance(parent, str) and parent and isinstance(cells, list) and cells
                and set(entry) == {"of", "cells"} and len(set(cells)) == len(cells)
                and all(isinstance(c, str) and c and c != parent for c in cells)):  # fmt: skip
            raise table.fail(
                f"partitions[{i}]",
                'must be { of = "<label>", cells = ["<label>", ...] } with distinct cells',
            )
        declared.append((parent, tuple(cells)))
    return tuple(declared)


def load_node_config(path: Path) -> NodeConfig:
    """Read and validate ``node.toml``."""
    root = _Table(str(path), "", read_toml(path))
    base = path.parent
    node = root.table("node")
    if node is None:
        raise root.fail("node", "is required: a [node] table with id, country and listen")
    datasets = []
    seen: set[str] = set()
    for table in root.tables("datasets"):
        dataset_id = _identifier(table, "id")
        if dataset_id in seen:
            raise table.fail("id", f"dataset {dataset_id!r} is listed twice")
        seen.add(dataset_id)
        datasets.append(_dataset(table, dataset_id, base))
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
        state_dir = _path(node, "state_dir", base, must_exist=False)
    budgeted = [d.id for d in datasets if d.query_budget is not None]
    if budgeted and state_dir is None:
        raise node.fail(
            "state_dir",
            f"is required when a dataset has a query_budget ({', '.join(budgeted)}): "
            "the budget ledger lives there, shared by every worker and kept across restarts",
        )
    config = NodeConfig(
        id=_identifier(node, "id"),
        country=_country(node),
        listen=_address(node, "listen", node.get("listen", str, required=True)),
        datasets=tuple(datasets),
        tls=parse_tls(root, base),
        peers=parse_peers(root),
        default_assembly=_assembly(
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


def _audit_path(root: _Table, base: Path) -> Path | None:
    audit = root.table("audit")
    if audit is None:
        return None
    path = _path(audit, "path", base, must_exist=False)
    audit.reject_unknown()
    return path


#: Shortest page-token key accepted from a file (HMAC-SHA256 wants 32 bytes or more).
MIN_SECRET_BYTES = 32


def _secret_file(table: _Table, base: Path) -> bytes | None:
    """``page_token_secret_file``: the bytes of a file shared by the replicas."""
    if "page_token_secret_file" not in table.data:
        table.optional("page_token_secret_file", str)
        return None
    path = _path(table, "page_token_secret_file", base)
    secret = path.read_bytes().strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise table.fail(
            "page_token_secret_file",
            f"{path} holds {len(secret)} bytes; use at least {MIN_SECRET_BYTES} random bytes "
            "(e.g. `openssl rand -hex 32`)",
        )
    return secret


def _non_negative(table: _Table, key: str, default: float) -> float:
    value = table.get(key, float, default)
    if value < 0:
        raise table.fail(key, "must not be negative")
    return value


def _ownership(table: _Table) -> str:
    value = table.get("dataset_ownership", str, "first")
    if value not in ("first", "country-prefix"):
        raise table.fail("dataset_ownership", f"{value!r} must be first or country-prefix")
    return value


def _fdp(root: _Table, base: Path) -> FdpConfig:
    table = root.table("fdp")
    if table is None:
        return FdpConfig()
    shapes = _path(table, "shapes", base) if "shapes" in table.data else None
    config = FdpConfig(
        shapes=shapes,
        title=table.get("title", str, FdpConfig.title),
        publisher=table.get("publisher", str, FdpConfig.publisher),
    )
    table.reject_unknown()
    return config


def load_gateway_config(path: Path) -> GatewayConfig:
    """Read and validate ``gateway.toml``."""
    root = _Table(str(path), "", read_toml(path))
    gateway = root.table("gateway")
    if gateway is None:
        raise root.fail("gateway", "is required: a [gateway] table with id and listen")
    http_listen = gateway.get("http_listen", str, "")
    if http_listen:
        _address(gateway, "http_listen", http_listen)
    timeout_ms = gateway.get("timeout_ms", int, 5000)
    if timeout_ms <= 0:
        raise gateway.fail("timeout_ms", "must be a positive number of milliseconds")
    refresh = gateway.get("catalog_refresh_s", float, 30.0)
    if refresh <= 0:
        raise gateway.fail("catalog_refresh_s", "must be a positive number of seconds")
    config = GatewayConfig(
        id=_identifier(gateway, "id"),
        listen=_address(gateway, "listen", gateway.get("listen", str, required=True)),
        peers=parse_peers(root),
        http_listen=http_listen,
        timeout_ms=timeout_ms,
        country=_country(gateway) if "country" in gateway.data else "",
        tls=parse_tls(root, path.parent),
        catalog_refresh_s=refresh,
        page_token_secret=_secret_file(gateway, path.parent),
        max_concurrent_rpcs=_max_concurrent_rpcs(gateway),
        tracing=parse_tracing(root, path.parent),
        dataset_ownership=_ownership(gateway),
        http=parse_http(root, path.parent),
        fdp=_fdp(root, path.parent),
        references=_references(root, path.parent),
        audit_path=_audit_path(root, path.parent),
        default_assembly=_assembly(
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
