"""A node's ``/metrics`` shows the index versions it serves, and a rebuild moves them."""

from __future__ import annotations

import random
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from nodes.index.index_dir import read_metadata
from nodes.serve.index_metrics import IndexMetrics
from nodes.serve.store import IndexStore
from tests.mesh_harness import random_sites, write_dataset


def scrape(store: IndexStore) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    registry = CollectorRegistry()
    registry.register(IndexMetrics(store))
    text = generate_latest(registry).decode()
    return {
        family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
        for family in text_string_to_metric_families(text)
    }


def test_served_versions_and_a_rebuild(tmp_path: Path) -> None:
    records = random_sites(random.Random(3), 40)
    index = write_dataset(tmp_path, "no-demo", records)
    store = IndexStore([("no-demo", index, False)])
    try:
        before = scrape(store)
        meta = read_metadata(index)
        key = (("dataset", "no-demo"),)
        assert before["allelemesh_index_variants"][key] == meta.variant_count > 0
        assert abs(before["allelemesh_index_built_timestamp_seconds"][key] - time.time()) < 600
        assert before["allelemesh_index_build_seconds"][key] == meta.build_seconds
        (info,) = before["allelemesh_index_info"]
        labels = dict(info)
        assert labels["version"] == index.resolve().name
        assert (labels["assembly"], labels["schema"]) == ("GRCh38", str(meta.schema_version))
        time.sleep(1.1)  # build times are stored to the second
        write_dataset(tmp_path, "no-demo", records[:10])  # rebuild in place
        assert store.reload_changed() == ["no-demo"]
        after = scrape(store)
        assert after["allelemesh_index_variants"][key] < meta.variant_count
        assert (after["allelemesh_index_built_timestamp_seconds"][key]
                > before["allelemesh_index_built_timestamp_seconds"][key])  # fmt: skip
        (new_info,) = after["allelemesh_index_info"]
        assert dict(new_info)["version"] == index.resolve().name != labels["version"]
    finally:
        store.close()
