"""node.toml: typed and validated, errors name the key and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.config import load_node_config
from mesh.errors import ConfigError
from mesh.model.genome import Assembly


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "idx").mkdir(exist_ok=True)
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


GOOD = """
[node]
id = "no-oslo-1"
country = "NO"
listen = "127.0.0.1:50051"
default_assembly = "grch37"
workers = 2

[[datasets]]
id = "no-gnomad"
index = "idx"
log_queries = true

[[peers]]
id = "fi-helsinki-1"
country = "FI"
addresses = ["127.0.0.1:50052", "[::1]:50053"]
identity = "spiffe://allelemesh.example/country/FI/node/fi-helsinki-1"
"""


def test_good_config_is_typed(tmp_path):
    config = load_node_config(write(tmp_path, GOOD))
    assert config.id == "no-oslo-1"
    assert config.country == "NO"
    assert config.default_assembly is Assembly.GRCH37
    assert config.workers == 2
    assert config.datasets[0].index == tmp_path / "idx"
    assert config.datasets[0].log_queries is True
    assert config.peers[0].addresses == ("127.0.0.1:50052", "[::1]:50053")
    assert config.tls is None


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (('country = "NO"', 'country = "Norway"'), "[node].country"),
        (('listen = "127.0.0.1:50051"', 'listen = "localhost"'), "[node].listen"),
        (("workers = 2", 'workers = "two"'), "[node].workers: must be a int"),
        (("workers = 2", "workers = 0"), "[node].workers: must be at least 1"),
        (('index = "idx"', 'index = "missing"'), "[[datasets]][0].index"),
        (('default_assembly = "grch37"', 'default_assembly = "hg19"'), "default_assembly"),
        (('id = "no-gnomad"', 'id = "no gnomad!"'), "[[datasets]][0].id"),
        (("log_queries = true", "log_querys = true"), "log_querys: is not a known key"),
        (("[node]", "[nodes]"), "node: is required"),
    ],
)
def test_bad_config_names_the_key(tmp_path, edit, expected):
    with pytest.raises(ConfigError) as caught:
        load_node_config(write(tmp_path, GOOD.replace(*edit)))
    assert expected in caught.value.message
    assert "node.toml" in caught.value.message


def test_syntax_error_names_the_file_and_line(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_node_config(write(tmp_path, GOOD + "\nthis is not toml\n"))
    assert "not valid TOML" in caught.value.message
    assert "line" in caught.value.message


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such configuration file"):
        load_node_config(tmp_path / "absent.toml")


def test_duplicate_dataset(tmp_path):
    text = GOOD + '\n[[datasets]]\nid = "no-gnomad"\nindex = "idx"\n'
    with pytest.raises(ConfigError, match="listed twice"):
        load_node_config(write(tmp_path, text))


BUDGETED = GOOD.replace(
    "log_queries = true", "log_queries = true\nquery_budget = { lookups = 20, per_seconds = 60 }"
)


def test_a_query_budget_needs_a_state_dir(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_node_config(write(tmp_path, BUDGETED))
    assert "[node].state_dir: is required when a dataset has a query_budget" in caught.value.message
    assert "no-gnomad" in caught.value.message


def test_state_dir_is_relative_to_the_file(tmp_path):
    text = BUDGETED.replace("workers = 2", 'workers = 2\nstate_dir = "state"')
    config = load_node_config(write(tmp_path, text))
    assert config.state_dir == tmp_path / "state"
    assert config.datasets[0].query_budget == (20, 60.0)


def test_beacon_id_of_a_node_is_configured_or_derived(tmp_path):
    from mesh.config import default_beacon_id

    config = load_node_config(write(tmp_path, GOOD))
    assert config.beacon_id == ""
    assert default_beacon_id(config.id, config.country) == "org.allelemesh.no.no-oslo-1"
    named = GOOD.replace("workers = 2", 'workers = 2\nbeacon_id = "org.example.no"')
    assert load_node_config(write(tmp_path, named)).beacon_id == "org.example.no"


GATEWAY = """
[gateway]
id = "eu-gw-1"
listen = "127.0.0.1:50050"
{extra}

[[peers]]
id = "no-oslo-1"
country = "NO"
address = "127.0.0.1:50051"
"""


@pytest.mark.parametrize(
    ("extra", "assembly"),
    [("", Assembly.GRCH38), ('default_assembly = "GRCh37"', Assembly.GRCH37)],
)
def test_gateway_default_assembly(tmp_path, extra, assembly):
    from mesh.config import load_gateway_config

    path = tmp_path / "gateway.toml"
    path.write_text(GATEWAY.format(extra=extra))
    assert load_gateway_config(path).default_assembly is assembly


def test_gateway_bad_default_assembly_names_the_key(tmp_path):
    from mesh.config import load_gateway_config

    path = tmp_path / "gateway.toml"
    path.write_text(GATEWAY.format(extra='default_assembly = "hg99"'))
    with pytest.raises(ConfigError, match=r"\[gateway\]\.default_assembly"):
        load_gateway_config(path)
