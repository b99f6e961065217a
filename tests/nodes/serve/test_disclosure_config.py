"""node.toml's disclosure keys: read into the dataset's policy, bad values name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.config import load_node_config
from mesh.disclosure import Partition
from mesh.errors import ConfigError
from nodes.serve.policy import policy_from_config

HEAD = """
[node]
id = "no-oslo-1"
country = "NO"
listen = "127.0.0.1:50051"

[[datasets]]
id = "no-gdi"
index = "idx"
"""


def load(tmp_path: Path, keys: str):
    (tmp_path / "idx").mkdir(exist_ok=True)
    path = tmp_path / "node.toml"
    path.write_text(HEAD + keys)
    return load_node_config(path)


def test_keys_reach_the_policy(tmp_path: Path):
    config = load(
        tmp_path,
        'min_individuals = 5\non_suppression = "collapse"\n'
        'partitions = [{ of = "Total", cells = ["north", "south"] }]\n',
    )
    privacy = policy_from_config(config.datasets[0]).privacy
    assert privacy.min_individuals == 5
    assert privacy.collapse
    assert privacy.partitions == (Partition("Total", ("north", "south")),)
    assert privacy.disclosure.allele_floor == 9
    assert not privacy.exact


def test_defaults_are_open(tmp_path: Path):
    privacy = policy_from_config(load(tmp_path, "").datasets[0]).privacy
    assert privacy.exact
    assert privacy.partitions is None
    assert not privacy.collapse


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ('on_suppression = "drop"', "on_suppression"),
        ("min_individuals = -1", "min_individuals"),
        ('partitions = [{ of = "Total" }]', "partitions[0]"),
        ('partitions = [{ of = "Total", cells = ["M", "M"] }]', "partitions[0]"),
        ('partitions = [{ of = "M", cells = ["M"] }]', "partitions[0]"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, keys: str, named: str):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[")):
        load(tmp_path, keys + "\n")
