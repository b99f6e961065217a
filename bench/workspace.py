"""What every figure shares: sizes for full and quick runs, generated data, built indexes.

Generated files and indexes are cached under the work directory (``bench/.work`` by
default, git-ignored) keyed by the data spec, so a second run skips generation. Built
indexes are kept under :func:`builder_identity` as well (the index schema version and a
hash of the code that writes an index), so an index left by older code is never
measured: a changed builder or schema builds afresh.
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.data import Dataset, DataSpec, ensure_dataset
from bench.procs import BenchPki

log = logging.getLogger("bench")


@dataclass(frozen=True)
class Settings:
    """Sizes and iteration counts of one run."""

    quick: bool
    #: Alleles in the main generated file (store, node, build figures).
    alleles: int
    #: Variants looked up by the store figure (both sides).
    store_lookups: int
    #: Sequential single LookupVariant calls (after warm-up).
    single_calls: int
    #: LookupVariant calls with 64 in flight.
    inflight_calls: int
    #: BatchLookupVariants calls of ``batch_size`` variants.
    batch_calls: int
    #: Alleles of the small per-node file behind the fan-out figure.
    node_alleles: int
    fanout_sizes: tuple[int, ...]
    fanout_calls: int
    stall_calls: int
    #: The gateway's per-peer deadline in the stalled-node run.
    stall_deadline_ms: int
    #: One-way delay of each simulated WAN link (the WAN figure: one node behind each).
    wan_delays_ms: tuple[float, ...] = (5, 10, 15, 20, 25, 30, 35, 40, 45)
    #: Sequential LookupVariant calls through the gateway and straight to the slowest link.
    wan_calls: int = 200
    batch_size: int = 1000
    inflight: int = 64

    @classmethod
    def full(cls) -> Settings:
        """The real run (under 15 minutes on 2 cores)."""
        return cls(
            quick=False,
            alleles=1_050_000,
            store_lookups=20_000,
            single_calls=5_000,
            inflight_calls=20_000,
            batch_calls=200,
            node_alleles=5_000,
            fanout_sizes=(1, 3, 9, 27),
            fanout_calls=300,
            stall_calls=20,
            stall_deadline_ms=500,
        )

    @classmethod
    def smoke(cls) -> Settings:
        """``--quick``: small data, few iterations (a CI smoke test, no speed claims)."""
        return cls(
            quick=True,
            alleles=20_000,
            store_lookups=2_000,
            single_calls=300,
            inflight_calls=1_000,
            batch_calls=10,
            node_alleles=3_000,
            fanout_sizes=(1, 3),
            fanout_calls=30,
            stall_calls=3,
            stall_deadline_ms=300,
            wan_delays_ms=(1, 2, 3),
            wan_calls=20,
        )


@dataclass
class Workspace:
    """Shared, lazily made inputs of every figure."""

    work: Path
    settings: Settings
    _datasets: dict[str, Dataset] = field(default_factory=dict)
    _pki: BenchPki | None = None
    _index_root: Path | None = None
    _pki_checked: bool = False
    pki_note: str = ""

    # -- data -------------------------------------------------------------------------

    def dataset(self) -> Dataset:
        """The main gnomAD-like file."""
        return self._dataset(DataSpec("sites", self.settings.alleles))

    def node_dataset(self) -> Dataset:
        """The small file every fan-out node serves (under its own dataset id)."""
        return self._dataset(DataSpec("node", self.settings.node_alleles, sample_size=2_000))

    def _dataset(self, spec: DataSpec) -> Dataset:
        if spec.name not in self._datasets:
            log.info("data: %s (%d alleles, cached after the first run)", spec.name, spec.alleles)
            self._datasets[spec.name] = ensure_dataset(self.work, spec)
        return self._datasets[spec.name]

    # -- indexes ----------------------------------------------------------------------

    @property
    def index_root(self) -> Path:
        """Where this code's indexes are cached (one folder per :func:`builder_identity`)."""
        if self._index_root is None:
            self._index_root = self.work / "index" / builder_identity()
        return self._index_root

    def index(self) -> Path:
        """An LMDB index of :meth:`dataset` (built once, in-process, cached)."""
        data = self.dataset()
        return self._index(data, "bench-sites", self.index_root / data.vcf.parent.name)

    def index_of(self, data: Dataset, dataset_id: str) -> Path:
        """An LMDB index of another generated file (built once, cached)."""
        return self._index(data, dataset_id, self.index_root / data.vcf.parent.name)

    def node_index(self, dataset_id: str) -> Path:
        """An index of :meth:`node_dataset` under ``dataset_id``.

        Built once; every other dataset id gets a directory with its own
        ``dataset.json`` and symlinks to the one ``data.mdb`` and ``ids.mdb`` (read-only,
        so sharing them is safe), which keeps 27 nodes cheap to set up.
        """
        from dataclasses import replace

        from nodes.index.index_dir import METADATA_FILE, read_metadata, write_metadata

        data = self.node_dataset()
        base = self._index(data, "node-base", self.index_root / data.vcf.parent.name)
        out = self.index_root / f"{data.vcf.parent.name}-{dataset_id}"
        if not (out / METADATA_FILE).exists():
            out.mkdir(parents=True, exist_ok=True)
            for name in ("data.mdb", "ids.mdb"):
                link = out / name
                if not link.exists():
                    link.symlink_to(Path(os.path.realpath(base)) / name)
            write_metadata(out, replace(read_metadata(base), id=dataset_id))
        return out

    def _index(self, data: Dataset, dataset_id: str, out: Path) -> Path:
        if out.exists():
            return out
        from nodes.build.builder import BuildOptions, build_index

        out.parent.mkdir(parents=True, exist_ok=True)
        build_index(
            BuildOptions(
                inputs=[data.vcf],
                dataset_id=dataset_id,
                out=out,
                jobs=min(2, os.cpu_count() or 1),
                progress=False,
            )
        )
        return out

    # -- mTLS -------------------------------------------------------------------------

    def pki(self) -> BenchPki | None:
        """The bench PKI when ``mesh.security.pki`` exists (else plaintext, noted)."""
        if not self._pki_checked:
            self._pki_checked = True
            ok, why = BenchPki.available()
            if ok:
                self._pki = BenchPki(self.work / "pki")
                self.pki_note = "gRPC over mTLS (certificates from mesh.security.pki)"
            else:
                self.pki_note = f"plaintext gRPC: {why}"
        return self._pki


def builder_identity() -> str:
    """``s<schema>-<hash>``: the index schema and a hash of the code that builds an index.

    The hash covers the modules actually imported (``nodes.build``, ``nodes.index``,
    ``mesh.model``, which normalizes the keys, and the compiled ``allelemesh_codec``),
    read from where Python found them: a few hundred kB, milliseconds to hash.
    """
    import allelemesh_codec

    import mesh.model
    import nodes.build
    import nodes.index
    from nodes.index.index_dir import SCHEMA_VERSION

    roots = {p.__name__: Path(p.__file__ or "").parent
             for p in (nodes.build, nodes.index, mesh.model, allelemesh_codec)}  # fmt: skip
    return f"s{SCHEMA_VERSION}-{code_digest(SCHEMA_VERSION, roots)}"


def code_digest(schema: int, roots: dict[str, Path]) -> str:
    """12 hex digits of a hash of ``schema`` and the sources and extensions under ``roots``."""
    digest = hashlib.sha256(f"schema {schema}\n".encode())
    for name, root in sorted(roots.items()):
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix in {".py", ".so", ".c"}:
                digest.update(f"{name}/{path.relative_to(root)}\n".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def machine() -> dict[str, Any]:
    """Cores, memory and software versions of this machine."""
    import grpc
    import lmdb
    import pysam

    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count() or 1,
        "usable_cores": len(os.sched_getaffinity(0)),
        "memory_gb": round(memory_gb, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "lmdb": lmdb.__version__,
        "pysam": pysam.__version__,
        "bcftools": bcftools_version() or "not installed",
    }


def bcftools_version() -> str | None:
    """The installed bcftools version, or ``None``."""
    exe = shutil.which("bcftools")
    if exe is None:
        return None
    out = subprocess.run(  # noqa: S603 - fixed arguments
        [exe, "--version"], capture_output=True, text=True, check=False, timeout=30
    ).stdout
    first = out.splitlines()[0] if out else ""
    return first.split()[-1] if first else "unknown"


def ensure_bcftools() -> tuple[str | None, str]:
    """Return ``(path, note)``; installs bcftools with apt-get when root and missing."""
    exe = shutil.which("bcftools")
    if exe:
        return exe, ""
    apt_get = shutil.which("apt-get")
    if os.geteuid() != 0 or apt_get is None:
        return None, (
            "bcftools is not installed and this is not root with apt-get: "
            "install it (apt-get install bcftools) to measure the htslib floor"
        )
    log.info("installing bcftools with apt-get (once)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt_get, "install", "-y", "-q", "bcftools"]
    done = subprocess.run(  # noqa: S603 - fixed arguments
        install, capture_output=True, text=True, env=env, check=False, timeout=600
    )
    if done.returncode != 0:
        subprocess.run(  # noqa: S603 - fixed arguments
            [apt_get, "update", "-q"], capture_output=True, env=env, check=False, timeout=600
        )
        done = subprocess.run(  # noqa: S603 - fixed arguments
            install, capture_output=True, text=True, env=env, check=False, timeout=600
        )
    exe = shutil.which("bcftools")
    if exe is None:
        return None, f"apt-get install bcftools failed: {done.stderr.strip()[-300:]}"
    return exe, "installed with apt-get by this run"
