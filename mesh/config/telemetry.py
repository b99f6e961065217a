"""``[tracing]`` and ``[metrics]`` tables of ``node.toml`` / ``gateway.toml``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from mesh.config.table import Table, read_address, read_path

EXPORTERS = ("otlp", "jsonl", "console", "none")
DEFAULT_OTLP_ENDPOINT = "http://localhost:4317"
DEFAULT_BUFFER_SPANS = 10_000


@dataclass(frozen=True)
class TracingConfig:
    """``[tracing]``: where spans go and how many are kept for ``TraceService``.

    The in-memory buffer (``buffer_spans``) works whatever the exporter, so
    ``allelemesh trace show`` can follow a request even with ``exporter = "none"``.
    """

    exporter: str = "none"
    #: OTLP/gRPC collector URL; ``http://`` is plaintext, ``https://`` TLS.
    endpoint: str = DEFAULT_OTLP_ENDPOINT
    #: Fraction of new traces recorded; an incoming sampled ``traceparent`` is always followed.
    sample_ratio: float = 1.0
    jsonl_path: Path | None = None
    #: Recent spans kept in memory for ``TraceService/GetTrace`` (0: none).
    buffer_spans: int = DEFAULT_BUFFER_SPANS

    @property
    def records(self) -> bool:
        """Whether spans are recorded at all (exported or buffered)."""
        return self.exporter != "none" or self.buffer_spans > 0


@dataclass(frozen=True)
class MetricsConfig:
    """``[metrics]``: a node's Prometheus port (a gateway serves ``/metrics`` on its HTTP port)."""

    #: HOST:PORT for ``GET /metrics``; empty: no metrics port.
    listen: str = ""


def parse_tracing(root: Table, base: Path) -> TracingConfig:
    """Read the optional ``[tracing]`` table (paths relative to the config file's ``base``)."""
    table = root.table("tracing")
    if table is None:
        return TracingConfig()
    exporter = table.get("exporter", str, "none")
    if exporter not in EXPORTERS:
        raise table.fail("exporter", f"{exporter!r} must be one of {', '.join(EXPORTERS)}")
    endpoint = table.get("endpoint", str, DEFAULT_OTLP_ENDPOINT)
    if not endpoint.startswith(("http://", "https://")):
        raise table.fail("endpoint", f"{endpoint!r} must be a URL such as {DEFAULT_OTLP_ENDPOINT}")
    ratio = table.get("sample_ratio", float, 1.0)
    if not (math.isfinite(ratio) and 0.0 <= ratio <= 1.0):
        raise table.fail("sample_ratio", f"{ratio} must be between 0.0 and 1.0")
    buffer_spans = table.get("buffer_spans", int, DEFAULT_BUFFER_SPANS)
    if buffer_spans < 0:
        raise table.fail("buffer_spans", "must not be negative")
    jsonl_path = None
    if "jsonl_path" in table.data:
        jsonl_path = read_path(table, "jsonl_path", base, must_exist=False)
        if not jsonl_path.parent.is_dir():
            raise table.fail("jsonl_path", f"directory {jsonl_path.parent} does not exist")
    elif exporter == "jsonl":
        raise table.fail("jsonl_path", 'is required when exporter = "jsonl"')
    table.reject_unknown()
    return TracingConfig(exporter, endpoint, ratio, jsonl_path, buffer_spans)


def parse_metrics(root: Table) -> MetricsConfig:
    """Read the optional ``[metrics]`` table."""
    table = root.table("metrics")
    if table is None:
        return MetricsConfig()
    listen = table.get("listen", str, "")
    if listen:
        read_address(table, "listen", listen)
    table.reject_unknown()
    return MetricsConfig(listen)
