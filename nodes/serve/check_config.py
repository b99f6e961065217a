"""``allelemesh node check-config node.toml``: validate a node's start, serve nothing.

Runs what ``node serve`` would: TLS files (readable, key matching, valid now), every
index (opens, holds the configured dataset id), references, the audit file, the
release policies and the ports (free, or who holds them); then prints what would be
served. Exit 0 when a start would succeed, 2 with every problem listed otherwise.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from mesh.config import DatasetConfig, NodeConfig
from mesh.errors import ConfigError
from mesh.model.reference import FastaReference
from mesh.server.check_config import ConfigReport, describe_peers, describe_ports, describe_tls
from nodes.serve.disclosure_tally import check_note
from nodes.serve.policy import policy_from_config
from nodes.serve.store import DatasetIndex


def check_node(config: NodeConfig, source: str, *, insecure: bool = False) -> int:
    """Check everything ``node serve`` checks; print the report; return the exit status."""
    report = ConfigReport(source)
    report.add(f"node {config.id} ({config.country}), {config.workers} worker(s)")
    describe_tls(report, config.tls, insecure, tier=("node", config.tier))
    for position, dataset in enumerate(config.datasets):
        report.check(partial(_describe_dataset, report, dataset, position))
    for assembly, path in config.references.items():
        report.check(partial(FastaReference, path, assembly))
    if config.audit_path is not None:
        report.check(lambda: _writable(config.audit_path, "audit_path"))
    listeners = [("[node].listen", config.listen, "gRPC")]
    if config.metrics.listen:
        listeners.append(("[metrics].listen", config.metrics.listen, "metrics"))
    describe_ports(report, listeners)
    describe_peers(report, config.peers)
    return report.finish()


def _describe_dataset(report: ConfigReport, dataset: DatasetConfig, position: int) -> None:
    index = DatasetIndex(dataset.index)
    try:
        if index.id != dataset.id:
            raise ConfigError(
                f"[[datasets]][{position}] id {dataset.id!r}: index {dataset.index} holds "
                f"dataset {index.id!r}"
            )
        policy = policy_from_config(dataset)
        meta = index.metadata
        report.add(
            f"dataset {dataset.id}: {meta.assembly}, {meta.variant_count:,} variants, "
            f"{meta.sample_count:,} samples, version {index.version_path.name} ({dataset.index})"
        )
        report.add(f"dataset {dataset.id}: {check_note(meta.disclosure_check, policy.privacy)}")
    finally:
        index.close()


def _writable(path: Path | None, setting: str) -> None:
    assert path is not None
    directory = path.parent
    if not os.access(directory, os.W_OK):
        raise ConfigError(f"{setting}: cannot write {path}: directory {directory} not writable")
