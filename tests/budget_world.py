"""A small world for query budget tests: indexes, certificates, node configs, counting.

Datasets (chromosome 1, GRCh38), built from VCFs written here:

* ``open``: no budget, holds 1000 A>G, 2000 C>T, 3000 G>A;
* ``dense``: a budget, holds the same three variants;
* ``sparse``: a budget, holds 2000 C>T only;
* ``gated``: open to gateways only, holds the three variants.

Each dataset's allele count is distinct (``AC``), so a test can tell rows apart by
dataset id alone and check counts without asking the code under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from google.rpc import error_details_pb2, status_pb2

from mesh.config import DatasetConfig, NodeConfig, PeerConfig, TlsConfig
from mesh.v1 import allele_pb2
from tests.mesh_harness import write_dataset
from tests.pki_factory import TestPki
from tests.vcf_factory import GroupCounts, SiteRecord

GATEWAYS = "spiffe://allelemesh.example/country/*/gateway/*"
POSITIONS = {1000: ("A", "G"), 2000: ("C", "T"), 3000: ("G", "A")}
AC = {"open": 11, "dense": 12, "sparse": 13, "gated": 14}
HELD = {"open": (1000, 2000, 3000), "dense": (1000, 2000, 3000), "sparse": (2000,),
        "gated": (1000, 2000, 3000)}  # fmt: skip
#: The rsID only ``sparse`` records (for its one variant, 2000 C>T).
SPARSE_RSID = "rs2000"
#: The longest retry delay a spent hour-long budget may give (charges leave it a bucket late).
LATEST_RETRY_S = 3600 * (1 + 1 / 64)
RESOURCE_EXHAUSTED = 8
PERMISSION_DENIED = 7


def variant(position: int) -> allele_pb2.Variant:
    ref, alt = POSITIONS[position]
    return allele_pb2.Variant(chromosome="1", position=position, reference_bases=ref,
                              alternate_bases=alt)  # fmt: skip


def build_indexes(root: Path) -> dict[str, Path]:
    """One index per dataset of the world."""
    out = {}
    for dataset_id, held in HELD.items():
        records = [
            SiteRecord("1", pos, POSITIONS[pos][0], [POSITIONS[pos][1]],
                       GroupCounts(an=1000, ac=[AC[dataset_id]], hom=[0]),
                       id=SPARSE_RSID if dataset_id == "sparse" else ".")
            for pos in held
        ]  # fmt: skip
        out[dataset_id] = write_dataset(root, dataset_id, records)
    return out


def budgeted_node(
    indexes: dict[str, Path],
    tls: TlsConfig | None,
    state_dir: Path,
    *,
    budget: tuple[int, float] = (3, 3600.0),
    datasets: Sequence[str] = ("open", "dense", "sparse", "gated"),
    node_id: str = "no-oslo-1",
    listen: str = "127.0.0.1:0",
) -> NodeConfig:
    """The NO node serving ``datasets``, ``dense`` and ``sparse`` with ``budget``."""
    configs = []
    for dataset_id in datasets:
        extra: dict[str, object] = {}
        if dataset_id in ("dense", "sparse"):
            extra["query_budget"] = budget
        if dataset_id == "gated":
            extra["allow"] = (GATEWAYS,)
        configs.append(DatasetConfig(dataset_id, indexes[dataset_id], **extra))  # type: ignore[arg-type]
    return NodeConfig(id=node_id, country="NO", listen=listen, tls=tls, reload_interval_s=0,
                      state_dir=state_dir, datasets=tuple(configs))  # fmt: skip


def peer(node_id: str, country: str, port: int, pki: TestPki, role: str = "node") -> PeerConfig:
    return PeerConfig(id=node_id, country=country, addresses=(f"127.0.0.1:{port}",),
                      identity=str(pki.spiffe_id(country, role, node_id)))  # fmt: skip


def rows_of(frequencies: Sequence[allele_pb2.VariantFrequency], dataset_id: str) -> int:
    return sum(f.dataset_id == dataset_id for f in frequencies)


def dataset_statuses(outcome: allele_pb2.NodeOutcome) -> dict[str, int]:
    """Dataset id -> status code of one node outcome's dataset outcomes."""
    return {d.dataset_id: d.status.code for d in outcome.datasets}


def retry_delay_s(status: status_pb2.Status) -> float | None:
    for detail in status.details:
        info = error_details_pb2.RetryInfo()
        if detail.Unpack(info):
            return info.retry_delay.ToNanoseconds() / 1e9
    return None


class Certs:
    """One PKI for a module, each leaf issued once (the files are reused by every test)."""

    def __init__(self, pki: TestPki) -> None:
        self.pki = pki
        self._tls: dict[tuple[str, str, str], TlsConfig] = {}

    def tls(self, cc: str, role: str, name: str) -> TlsConfig:
        key = (cc, role, name)
        if key not in self._tls:
            self._tls[key] = self.pki.tls(self.pki.leaf(cc, role, name))
        return self._tls[key]
