"""OpenTelemetry metrics of a mesh process, served in the Prometheus text format.

Instruments (Prometheus names in brackets):

* ``mesh.rpc.server.requests`` [``mesh_rpc_server_requests_total``], ``.errors``
  [``mesh_rpc_server_errors_total``] and ``.duration`` [``mesh_rpc_server_duration_seconds``]
  per ``rpc_method`` and ``rpc_grpc_status_code`` (the code's name, e.g. ``NOT_FOUND``);
* ``mesh.peer.requests`` and ``mesh.peer.duration`` per ``mesh_peer_id``,
  ``mesh_peer_country``, ``rpc_method`` and ``mesh_peer_outcome``;
* ``mesh.http.server.requests``, ``.errors`` and ``.duration`` per ``http_route``
  (the route template, never the raw path), method and status.

Labels never carry request content, so no coordinates reach a metrics scraper, and
every label has a bounded set of values, so a caller cannot grow ``/metrics`` (each
label set is a series kept for the life of the process):

* ``rpc_method``: only methods the server registered (unknown ones are answered
  ``UNIMPLEMENTED`` before the interceptor records anything); status codes: the 17
  gRPC codes;
* ``mesh_peer_id``/``mesh_peer_country``: the configured peers;
* ``http_route``: route templates or ``(unmatched)``; ``http_request_method``: the
  RFC 9110 methods, any other token is ``other`` (OpenTelemetry's ``_OTHER``);
  ``http_response_status_code``: ``100``-``599``, else ``other``;
* and, whatever the source, at most :data:`MAX_LABEL_SETS` label sets per family
  (``rpc``, ``peer``, ``http``): later new ones are all recorded under one set whose
  values are ``other``, with a warning.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import grpc
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.sdk.metrics.export import Histogram, InMemoryMetricReader, Metric, Sum
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.core import (
    Metric as PromMetric,
)
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Latency buckets in seconds: a local lookup takes ~1 ms, a slow country seconds.
LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes"}
_INVALID = re.compile(r"[^a-zA-Z0-9_:]")
#: Label sets kept per family before new ones are folded into one ``other`` set. Below
#: the OpenTelemetry SDK's own limit (2,000 per instrument), whose overflow would add an
#: ``otel_metric_overflow`` label to every series of the family.
MAX_LABEL_SETS = 1000
OTHER = "other"
#: RFC 9110 methods (and PATCH); any other method token is recorded as ``other``.
HTTP_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
)


def http_method_label(method: str) -> str:
    """``GET`` stays ``GET``; ``FOO``, ``get`` and every other token become ``other``."""
    return method if method in HTTP_METHODS else OTHER


def http_status_label(status: int) -> str:
    """``"404"``; outside ``100``-``599``: ``other``."""
    return str(status) if 100 <= status <= 599 else OTHER


class _Tally:
    """Counts per attribute set, reported to OpenTelemetry only when scraped.

    A synchronous OTel counter costs ~5 us per ``add`` (measurement objects, attribute
    hashing, locks); an observable counter over a plain dict costs a dict lookup, and
    the request path is single-threaded (the event loop), so no lock is needed.
    """

    def __init__(self) -> None:
        self.counts: dict[int, list[Any]] = {}

    def add(self, attributes: dict[str, str]) -> None:
        entry = self.counts.get(id(attributes))
        if entry is None:
            self.counts[id(attributes)] = [attributes, 1]
        else:
            entry[1] += 1

    def observe(self, _options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(count, attrs) for attrs, count in list(self.counts.values())]


class _Durations:
    """A latency histogram per attribute set, as plain bucket counts read when scraped.

    OpenTelemetry's synchronous ``Histogram.record`` costs ~5 us per call (measurement
    objects, attribute hashing, locks) on every RPC; this is a dict lookup, a bisect and
    three additions. :meth:`MeshMetrics.collect` yields the Prometheus family the SDK's
    cumulative histogram would (same name, labels, buckets, sum and count).
    """

    def __init__(self, name: str, description: str, bounds: tuple[float, ...]) -> None:
        self.name = prometheus_name(name, "s")
        self.description = description
        self.bounds = bounds
        #: id(attributes) -> [attributes, bucket counts (one more than bounds), sum].
        self.series: dict[int, list[Any]] = {}

    def record(self, seconds: float, attributes: dict[str, str]) -> None:
        entry = self.series.get(id(attributes))
        if entry is None:
            entry = self.series[id(attributes)] = [attributes, [0] * (len(self.bounds) + 1), 0.0]
        # Explicit buckets hold (previous bound, bound]: the first bound >= the value.
        entry[1][bisect.bisect_left(self.bounds, seconds)] += 1
        entry[2] += seconds

    def family(self) -> PromMetric | None:
        series = list(self.series.values())
        if not series:
            return None
        keys = sorted({k for attributes, _, _ in series for k in attributes})
        histogram = HistogramMetricFamily(
            self.name, self.description, labels=[_INVALID.sub("_", k) for k in keys]
        )
        for attributes, counts, total in series:
            cumulative, buckets = 0, []
            for bound, count in zip(self.bounds, list(counts), strict=False):
                cumulative += count
                buckets.append((repr(float(bound)), float(cumulative)))
            buckets.append(("+Inf", float(sum(counts))))
            histogram.add_metric([str(attributes.get(k, "")) for k in keys], buckets, total)
        return histogram


class MeshMetrics(Collector):
    """The instruments, with attribute dicts cached so recording allocates nothing new.

    Also a Prometheus collector of the histograms kept outside OpenTelemetry
    (:class:`_Durations`); register it beside :class:`OtelCollector`.
    """

    def __init__(self, meter: Meter) -> None:
        def tally(name: str, what: str) -> _Tally:
            counts = _Tally()
            meter.create_observable_counter(name, [counts.observe], description=what)
            return counts

        self.server_requests = tally("mesh.rpc.server.requests", "gRPC requests served")
        self.server_errors = tally("mesh.rpc.server.errors", "gRPC requests not OK")
        self.server_duration = _Durations(
            "mesh.rpc.server.duration", "gRPC server latency", LATENCY_BUCKETS_S
        )
        self.peer_requests = tally("mesh.peer.requests", "calls to peers")
        # Recorded once per peer per fan-out: kept outside OpenTelemetry like the server's.
        self.peer_duration = _Durations(
            "mesh.peer.duration", "peer call latency", LATENCY_BUCKETS_S
        )
        self.http_requests = tally("mesh.http.server.requests", "HTTP requests")
        self.http_errors = tally("mesh.http.server.errors", "HTTP 5xx answers")
        # Every HTTP request records one too: kept outside OpenTelemetry like the above.
        self.http_duration = _Durations(
            "mesh.http.server.duration", "HTTP server latency", LATENCY_BUCKETS_S
        )
        # Attribute dicts are interned: the tallies key on their identity.
        self._attrs: dict[tuple[str, ...], dict[str, str]] = {}
        self._families: dict[str, int] = {}

    def _cached(self, *key: str) -> dict[str, str]:
        attrs = self._attrs.get(key)
        if attrs is None:
            family = key[0]
            size = self._families.get(family, 0)
            if size >= MAX_LABEL_SETS:
                # A label source is not bounded after all: one overflow set, not more series.
                overflow = (family, *(k if i % 2 == 0 else OTHER for i, k in enumerate(key[1:])))
                if overflow not in self._attrs:
                    log.warning(
                        "more than %d metric label sets for %s; new ones are recorded as %r",
                        MAX_LABEL_SETS,
                        family,
                        OTHER,
                    )
                    self._attrs[overflow] = dict(zip(key[1::2], overflow[2::2], strict=True))
                return self._attrs[overflow]
            self._families[family] = size + 1
            attrs = self._attrs[key] = dict(zip(key[1::2], key[2::2], strict=True))
        return attrs

    def collect(self) -> Iterator[PromMetric]:
        for durations in (self.server_duration, self.peer_duration, self.http_duration):
            family = durations.family()
            if family is not None:
                yield family

    def record_server(self, method: str, code: grpc.StatusCode, seconds: float) -> None:
        attrs = self._cached("s", "rpc.method", method, "rpc.grpc.status_code", code.name)
        self.server_requests.add(attrs)
        if code is not grpc.StatusCode.OK:
            self.server_errors.add(attrs)
        self.server_duration.record(seconds, attrs)

    def record_peer(
        self, peer_id: str, country: str, method: str, outcome: str, seconds: float
    ) -> None:
        attrs = self._cached(
            "p",
            "mesh.peer.id",
            peer_id,
            "mesh.peer.country",
            country,
            "rpc.method",
            method,
            "mesh.peer.outcome",
            outcome,
        )
        self.peer_requests.add(attrs)
        self.peer_duration.record(seconds, attrs)

    def record_http(self, route: str, method: str, status: int, seconds: float) -> None:
        attrs = self._cached(
            "h",
            "http.route",
            route,
            "http.request.method",
            http_method_label(method),
            "http.response.status_code",
            http_status_label(status),
        )
        self.http_requests.add(attrs)
        if status >= 500:
            self.http_errors.add(attrs)
        self.http_duration.record(seconds, attrs)


def prometheus_name(name: str, unit: str = "") -> str:
    """``mesh.rpc.server.duration`` with unit ``s`` -> ``mesh_rpc_server_duration_seconds``."""
    base = _INVALID.sub("_", name)
    suffix = _UNITS.get(unit, "")
    return f"{base}_{suffix}" if suffix and not base.endswith(suffix) else base


class OtelCollector(Collector):
    """Reads the SDK's in-memory reader at scrape time and yields Prometheus families."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self._reader = reader

    def collect(self) -> Iterator[PromMetric]:
        data = self._reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else ():
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    family = _family(metric)
                    if family is not None:
                        yield family


def _family(metric: Metric) -> PromMetric | None:
    name, doc, data = (
        prometheus_name(metric.name, metric.unit or ""),
        metric.description or "",
        metric.data,
    )
    keys = sorted({str(k) for point in data.data_points for k in (point.attributes or {})})
    labels = [_INVALID.sub("_", k) for k in keys]

    def values(point: object) -> list[str]:
        attributes = getattr(point, "attributes", None) or {}
        return [str(attributes.get(k, "")) for k in keys]

    if isinstance(data, Histogram):
        histogram = HistogramMetricFamily(name, doc, labels=labels)
        for hpoint in data.data_points:
            cumulative, buckets = 0, []
            for bound, count in zip(hpoint.explicit_bounds, hpoint.bucket_counts, strict=False):
                cumulative += count
                buckets.append((repr(float(bound)), float(cumulative)))
            buckets.append(("+Inf", float(hpoint.count)))
            histogram.add_metric(values(hpoint), buckets, hpoint.sum)
        return histogram
    if isinstance(data, Sum) and data.is_monotonic:
        counter = CounterMetricFamily(name, doc, labels=labels)
        for npoint in data.data_points:
            counter.add_metric(values(npoint), npoint.value)
        return counter
    gauge = GaugeMetricFamily(name, doc, labels=labels)
    for gpoint in data.data_points:
        gauge.add_metric(values(gpoint), getattr(gpoint, "value", 0.0))
    return gauge


def new_registry(reader: InMemoryMetricReader) -> CollectorRegistry:
    """A private registry (never prometheus_client's global one) over ``reader``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OtelCollector(reader))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition of ``registry``."""
    return generate_latest(registry)


_MAX_HEADER_LINES = 100


async def serve_metrics_http(
    render_text: Callable[[], bytes], host: str, port: int, *, reuse_port: bool = False
) -> asyncio.Server:
    """A minimal HTTP/1.1 server answering ``GET /metrics`` (for nodes' metrics port)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                request_line = await reader.readline()
                for _ in range(_MAX_HEADER_LINES):
                    if (await reader.readline()) in (b"\r\n", b"\n", b""):
                        break
            parts = request_line.split()
            if len(parts) >= 2 and parts[0] == b"GET" and parts[1].split(b"?")[0] == b"/metrics":
                body = render_text()
                head = f"HTTP/1.1 200 OK\r\nContent-Type: {PROMETHEUS_CONTENT_TYPE}\r\n"
            else:
                body = b"not found; try GET /metrics\n"
                head = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
            head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
            log.debug("metrics request failed: %s", exc)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port, reuse_port=reuse_port or None)
