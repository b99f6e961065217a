"""Configuration mistakes are one line and exit 2: a dataset id that is not its index's, a
misspelled required key (named with the key it should be)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.mesh_harness import REPO, free_port, write_dataset
from tests.vcf_factory import GroupCounts, SiteRecord

pytestmark = pytest.mark.slow


@pytest.fixture
def index(tmp_path: Path) -> Path:
    site = SiteRecord("1", 55051215, "G", ["GA"], GroupCounts(an=1000, ac=[12], hom=[2]))
    return write_dataset(tmp_path / "data", "de-a", [site])


def serve(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesh", "node", "serve", "--config", str(config), "--insecure"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def node_toml(tmp_path: Path, dataset: str) -> Path:
    config = tmp_path / "node.toml"
    config.write_text(
        f'[node]\nid = "de-berlin-1"\ncountry = "DE"\nlisten = "127.0.0.1:{free_port()}"\n'
        f"[[datasets]]\n{dataset}\n"
    )
    return config


def the_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


def test_dataset_id_not_matching_its_index_is_a_config_error(tmp_path: Path, index: Path):
    config = node_toml(tmp_path, f'id = "de-b"\nindex = "{index}"')
    assert the_error(serve(config)) == (
        f"allelemesh: configuration error: [[datasets]] id 'de-b': index {index} holds dataset "
        "'de-a'; set id = 'de-a' or point index at the right directory"
    )


def test_misspelled_required_key_names_both_keys(tmp_path: Path, index: Path):
    config = node_toml(tmp_path, f'idd = "de-a"\nindex = "{index}"')
    assert the_error(serve(config)) == (
        f"allelemesh: configuration error: {config}: [[datasets]][0].id: is required "
        "(found unknown key 'idd': a misspelling of 'id'?)"
    )


def test_an_index_that_cannot_be_opened_is_a_config_error(tmp_path: Path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "dataset.json").write_text("{not json")
    config = node_toml(tmp_path, f'id = "de-a"\nindex = "{broken}"')
    line = the_error(serve(config))
    assert line.startswith(
        f"allelemesh: configuration error: index {broken}: cannot read dataset.json"
    )
