"""Every config file under deploy/ loads with the project's own parser.

The files name container paths (``/etc/allelemesh/...``, ``/var/lib/allelemesh/...``);
each is re-rooted onto a temporary root where those files exist for real (certificates
from a throw-away PKI, an index built from a VCF), then loaded exactly as a process
would at start. Compose's files also run for real in test_compose_run.py.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from mesh.config import load_gateway_config, load_node_config
from mesh.errors import ConfigError
from tests.deploy.tools import DEPLOY
from tests.mesh_harness import random_sites, write_dataset
from tests.pki_factory import TestPki

CONFIGS = sorted(p for p in DEPLOY.rglob("*.toml"))
CONTAINER_ROOTS = ("/etc/allelemesh", "/var/lib/allelemesh", "/var/log/allelemesh")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root holding every file the configs name, at its container path."""
    root = tmp_path_factory.mktemp("deploy-root")
    test_pki = TestPki.create(root / "pki-src", countries=("NO", "FI", "LU", "EU"))
    names = {"node-no": "NO", "node-fi": "FI", "node-lu": "LU", "staging-node-no": "NO",
             "gateway": "EU", "staging-gateway": "EU", "tls": "NO"}  # fmt: skip
    pki_dir = root / "var/lib/allelemesh/pki"
    tls_dir = root / "etc/allelemesh/tls"
    for folder in (pki_dir, tls_dir):
        folder.mkdir(parents=True)
    shutil.copy(test_pki.root_cert, pki_dir / "root-ca.crt")
    shutil.copy(test_pki.root_cert, tls_dir / "ca.crt")
    for name, cc in names.items():
        issued = test_pki.leaf(cc, "node" if "node" in name else "gateway", name)
        target = tls_dir if name == "tls" else pki_dir
        shutil.copy(issued.cert, target / f"{name}.crt")
        shutil.copy(issued.key, target / f"{name}.key")
    token = root / "etc/allelemesh/page-token/page-token.key"
    token.parent.mkdir(parents=True)
    token.write_text("0123456789abcdef" * 4)
    indexes = root / "var/lib/allelemesh/indexes"
    for dataset in ("no-demo", "fi-demo", "lu-demo", "no-cohort"):
        write_dataset(indexes, dataset, random_sites(random.Random(dataset), 5))
    return root


def rerooted(config: Path, root: Path, into: Path) -> Path:
    text = config.read_text()
    for prefix in CONTAINER_ROOTS:
        text = text.replace(prefix, f"{root}{prefix}")
    into.mkdir(parents=True, exist_ok=True)
    copy = into / config.name
    copy.write_text(text)
    return copy


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_config_loads(config: Path, root: Path, tmp_path: Path) -> None:
    copy = rerooted(config, root, tmp_path)
    if "[node]" in config.read_text():
        node = load_node_config(copy)
        assert node.tls is not None
        assert all(d.index.exists() for d in node.datasets)
    else:
        gateway = load_gateway_config(copy)
        assert gateway.tls is not None
        assert gateway.peers


def test_there_are_configs_of_every_kind() -> None:
    kinds = {p.parent.relative_to(DEPLOY).parts[0] for p in CONFIGS}
    assert kinds == {"compose", "k8s"}
    assert len(CONFIGS) >= 8


def test_a_misspelt_key_in_a_deploy_config_would_be_refused(root: Path, tmp_path: Path) -> None:
    config = DEPLOY / "k8s" / "base" / "config" / "node.toml"
    copy = rerooted(config, root, tmp_path)
    copy.write_text(copy.read_text().replace("reload_interval_s", "reload_intervall_s"))
    with pytest.raises(ConfigError, match="reload_intervall_s"):
        load_node_config(copy)
