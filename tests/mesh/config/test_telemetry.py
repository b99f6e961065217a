"""`[tracing]` and `[metrics]` tables."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mesh.config.table import Table
from mesh.errors import ConfigError
from mesh.tracing import MetricsConfig, TracingConfig, parse_metrics, parse_tracing


def tracing(text: str, base: Path = Path("/tmp")) -> TracingConfig:
    return parse_tracing(Table("node.toml", "", tomllib.loads(text)), base)


def test_defaults_buffer_spans_without_exporting():
    config = tracing("")
    assert config == TracingConfig()
    assert (config.exporter, config.sample_ratio, config.buffer_spans) == ("none", 1.0, 10_000)
    assert config.records
    assert not tracing("[tracing]\nbuffer_spans = 0").records


def test_every_key(tmp_path):
    config = tracing(
        '[tracing]\nexporter = "jsonl"\njsonl_path = "spans.jsonl"\nsample_ratio = 0.25\n'
        'endpoint = "https://otel.example:4317"\nbuffer_spans = 500',
        tmp_path,
    )
    assert config == TracingConfig(
        "jsonl", "https://otel.example:4317", 0.25, tmp_path / "spans.jsonl", 500
    )
    assert tracing('[tracing]\nexporter = "otlp"').endpoint == "http://localhost:4317"
    assert tracing("[tracing]\nsample_ratio = 1").sample_ratio == 1.0


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('exporter = "zipkin"', "[tracing].exporter"),
        ('exporter = "jsonl"', "[tracing].jsonl_path"),
        ('jsonl_path = "/no/such/dir/spans.jsonl"', "[tracing].jsonl_path"),
        ("sample_ratio = 1.5", "[tracing].sample_ratio"),
        ('sample_ratio = "all"', "[tracing].sample_ratio"),
        ('endpoint = "localhost:4317"', "[tracing].endpoint"),
        ("buffer_spans = -1", "[tracing].buffer_spans"),
        ("sampel_ratio = 0.5", "[tracing].sampel_ratio"),
    ],
)
def test_bad_values_name_the_key(text, where):
    with pytest.raises(ConfigError) as info:
        tracing(f"[tracing]\n{text}")
    assert info.value.message.startswith(f"node.toml: {where}: ")


def test_metrics_table():
    def metrics(text: str) -> MetricsConfig:
        return parse_metrics(Table("node.toml", "", tomllib.loads(text)))

    assert metrics("") == MetricsConfig("")
    assert metrics('[metrics]\nlisten = "127.0.0.1:9464"').listen == "127.0.0.1:9464"
    with pytest.raises(ConfigError, match=r"\[metrics\]\.listen"):
        metrics('[metrics]\nlisten = "nine"')
