"""``allelemesh --version``: the package, the mesh.v1 contract and the index schema."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from mesh.v1 import allele_pb2, allele_service_pb2, catalog_service_pb2, trace_service_pb2
from tests.mesh_harness import REPO, write_dataset
from tests.vcf_factory import GroupCounts, SiteRecord


def test_version_names_all_three(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mesh", "--version"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    digest = hashlib.sha256()
    for module in (allele_pb2, allele_service_pb2, catalog_service_pb2, trace_service_pb2):
        digest.update(module.DESCRIPTOR.serialized_pb)
    # The schema version a freshly built index records.
    site = SiteRecord("1", 55051215, "G", ["GA"], GroupCounts(an=10, ac=[1], hom=[0]))
    index = write_dataset(tmp_path, "de-a", [site])
    schema = json.loads((index / "dataset.json").read_text())["schema_version"]
    assert result.stdout.splitlines() == [
        f"allelemesh {version('allelemesh')}",
        f"wire contract: mesh.v1 (descriptors sha256:{digest.hexdigest()[:16]})",
        f"index schema: {schema}",
    ]
