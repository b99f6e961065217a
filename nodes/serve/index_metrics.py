"""The indexes a node serves, as Prometheus gauges on its ``/metrics``.

Read from each served index's metadata when scraped, so a rebuild that the node swapped
in shows at the next scrape (the build time moves, the version label changes):

* ``allelemesh_index_built_timestamp_seconds{dataset}``: when the served version was built;
* ``allelemesh_index_build_seconds{dataset}``: how long that build took;
* ``allelemesh_index_variants{dataset}``: alleles it holds;
* ``allelemesh_index_info{dataset,version,assembly,schema}``: 1 for the served version.

Labels are dataset ids and version directory names from the node's own config and disk.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import Metric as PromMetric
from prometheus_client.registry import Collector

from nodes.serve.store import IndexStore


def _timestamp(text: str) -> float | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class IndexMetrics(Collector):
    """A collector over the store's currently served indexes."""

    def __init__(self, store: IndexStore) -> None:
        self.store = store

    def collect(self) -> Iterable[PromMetric]:
        built = GaugeMetricFamily(
            "allelemesh_index_built_timestamp_seconds",
            "when the served version of each dataset's index was built",
            labels=["dataset"],
        )
        took = GaugeMetricFamily(
            "allelemesh_index_build_seconds",
            "how long the build of the served version took",
            labels=["dataset"],
        )
        variants = GaugeMetricFamily(
            "allelemesh_index_variants", "alleles in the served version", labels=["dataset"]
        )
        info = GaugeMetricFamily(
            "allelemesh_index_info",
            "1 for the version of each dataset's index being served",
            labels=["dataset", "version", "assembly", "schema"],
        )
        for index in self.store.datasets():
            meta = index.metadata
            when = _timestamp(meta.created_time)
            if when is not None:
                built.add_metric([index.id], when)
            took.add_metric([index.id], meta.build_seconds)
            variants.add_metric([index.id], meta.variant_count)
            version = index.version_path.name
            info.add_metric([index.id, version, meta.assembly.value, str(meta.schema_version)], 1)
        return [built, took, variants, info]
