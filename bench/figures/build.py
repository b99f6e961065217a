"""Figure 4: ``allelemesh index build`` against ``bcftools view -Ou`` (the htslib floor).

Each build is a subprocess (``python -m mesh index build``, fresh output directory)
run under a small wrapper process whose ``RUSAGE_CHILDREN`` gives the peak RSS of the
largest process in the build's tree (``--jobs`` workers included); ``/proc`` polling
adds the peak of the whole tree. Wall time includes interpreter start-up, as a user
sees it. bcftools decodes the same file to uncompressed BCF into ``/dev/null``: what
htslib alone needs to read every record. "Whatever the input size" is checked by the
same build over a file 1/20th the size.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pysam

from bench.data import BgzfWriter, Dataset, DataSpec, ensure_dataset
from bench.procs import REPO
from bench.report import Figure, Row
from bench.workspace import Workspace, ensure_bcftools

TITLE = "Index build vs bcftools decode"
TARGET_RATE = 150_000.0
TARGET_JOBS2_RATIO = 3.0
TARGET_RSS_MB = 300.0
#: Runs the command, then prints the peak RSS (kB) of its largest descendant.
_WRAPPER = (
    "import json, resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print(json.dumps([code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))\n"
)


@dataclass
class Run:
    """One measured subprocess."""

    seconds: float
    peak_rss_mb: float
    tree_rss_mb: float
    output: str


def _tree(pid: int) -> list[int]:
    pids = [pid]
    i = 0
    while i < len(pids):
        for task in Path(f"/proc/{pids[i]}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                pids += [int(p) for p in task.read_text().split()]
        i += 1
    return pids


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _measure(command: list[str], log_path: Path) -> Run:
    """Run ``command`` under the RSS wrapper, polling the tree's total RSS."""
    peak_tree = 0
    stop = threading.Event()
    started = time.perf_counter()
    with log_path.open("wb") as log_file:
        wrapper = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-c", _WRAPPER, *command],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=log_file,
        )

        def poll() -> None:
            nonlocal peak_tree
            while not stop.is_set():
                total = sum(_rss_kb(p) for p in _tree(wrapper.pid)[1:])
                peak_tree = max(peak_tree, total)
                stop.wait(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            out, _ = wrapper.communicate(timeout=1800)
        finally:
            stop.set()
            poller.join()
            if wrapper.poll() is None:
                wrapper.kill()
    seconds = time.perf_counter() - started
    code, maxrss_kb = json.loads(out.decode().strip().splitlines()[-1])
    if code != 0:
        tail = log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(command[:4])} ... exited with {code}:\n{tail}")
    return Run(seconds, maxrss_kb / 1024, peak_tree / 1024, log_path.read_text(errors="replace"))


def split_by_chromosome(data: Dataset) -> list[Path]:
    """The file cut into one bgzipped, tabix-indexed VCF per contig (cached beside it).

    How a Hail export hands a national callset over (#21): the builder reads them as one
    dataset and builds them in parallel.
    """
    folder = data.vcf.parent / "by-chromosome"
    done = folder / "done"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        with pysam.TabixFile(str(data.vcf)) as tabix:
            header = "\n".join(tabix.header).encode() + b"\n"
            for contig in tabix.contigs:
                path = folder / f"{contig}.vcf.gz"
                writer = BgzfWriter(path)
                writer.write(header)
                lines = list(tabix.fetch(contig))
                writer.write(("\n".join(lines) + "\n").encode())
                writer.close()
                pysam.tabix_index(str(path), preset="vcf", force=True)
        done.write_text("ok\n")
    return sorted(folder.glob("*.vcf.gz"))


def _build(
    data: Dataset, out: Path, jobs: int, logs: Path, inputs: list[Path] | None = None
) -> tuple[Run, int, int]:
    """One ``allelemesh index build``; returns the run, variants and index bytes."""
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(out.with_name(f".{out.name}.versions"), ignore_errors=True)
    files = [str(p) for p in inputs] if inputs else [str(data.vcf)]
    command = [sys.executable, "-m", "mesh", "index", "build", *files,
               "--dataset", "bench-build", "--assembly", "GRCh38", "--out", str(out),
               "--jobs", str(jobs)]  # fmt: skip
    kind = "-split" if inputs else ""
    run = _measure(command, logs / f"build-{out.name}{kind}-j{jobs}.log")
    from nodes.index.index_dir import read_metadata

    variants = read_metadata(out).variant_count
    version = Path(os.path.realpath(out))
    size = sum(p.stat().st_blocks * 512 for p in version.iterdir() if p.is_file())
    shutil.rmtree(version, ignore_errors=True)
    out.unlink(missing_ok=True)
    return run, variants, size


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """Build at jobs 1 and 2 and on a small file; decode with bcftools."""
    data = ws.dataset()
    small = ensure_dataset(ws.work, DataSpec("sites-small", max(2_000, data.spec.alleles // 20),
                                             sample_size=100))  # fmt: skip
    scratch = ws.work / "run" / "build"
    scratch.mkdir(parents=True, exist_ok=True)
    cores = len(os.sched_getaffinity(0))
    j1, variants, index_bytes = _build(data, scratch / "index", 1, scratch)
    j2, _, _ = _build(data, scratch / "index", 2, scratch)
    js, _, _ = _build(small, scratch / "index-small", 1, scratch)
    chromosomes = split_by_chromosome(data)
    jc, split_variants, _ = _build(data, scratch / "index", 2, scratch, chromosomes)
    rate_split = data.alleles / jc.seconds
    rate1 = data.alleles / j1.seconds
    rate2 = data.alleles / j2.seconds
    bcftools, install_note = ensure_bcftools()
    figure = Figure("build", TITLE)
    figure.setup = (
        f"`python -m mesh index build` of the generated {data.alleles:,}-allele file "
        f"({data.bytes / 1e6:.0f} MB bgzipped, {data.records:,} records) into a fresh "
        f"directory, wall time including start-up, on {cores} cores. Peak RSS: the largest "
        "single process of the build (RUSAGE_CHILDREN of a wrapper); tree: all processes "
        "at once (polled every 50 ms). Baseline: `bcftools view -Ou -o /dev/null` of the "
        "same file."
    )
    figure.extra = {
        "alleles": data.alleles,
        "variants": variants,
        "index_bytes": index_bytes,
        "seconds_jobs1": j1.seconds,
        "seconds_jobs2": j2.seconds,
        "seconds_split_jobs2": jc.seconds,
        "chromosome_files": len(chromosomes),
        "cores": cores,
    }
    rows: list[Row] = []
    if bcftools is None:
        rows.append(Row.not_measured("bcftools view -Ou (htslib floor)", install_note))
        floor = None
    else:
        base = _measure([bcftools, "view", "-Ou", "-o", "/dev/null", str(data.vcf)],
                        scratch / "bcftools.log")  # fmt: skip
        floor = base.seconds
        figure.extra["seconds_bcftools"] = floor
        rows.append(Row("bcftools view -Ou (htslib floor)", data.alleles / floor, "alleles/s",
                        note=f"{floor:.1f} s, peak RSS {base.peak_rss_mb:.0f} MB"
                        + (f"; {install_note}" if install_note else "")))  # fmt: skip
    rows += [
        Row("build, --jobs 1", rate1, "alleles/s",
            baseline=data.alleles / floor if floor else None, baseline_label="bcftools",
            ratio=j1.seconds / floor if floor else None, ratio_label="bcftools time",
            target=f"≥ {TARGET_RATE:,.0f} alleles/s", met=rate1 >= TARGET_RATE,
            note=f"{j1.seconds:.1f} s for {data.alleles:,} alleles → {variants:,} variants"),
        Row("build, --jobs 2", rate2, "alleles/s",
            baseline=data.alleles / floor if floor else None, baseline_label="bcftools",
            ratio=j2.seconds / floor if floor else None, ratio_label="bcftools time",
            target=f"≤ {TARGET_JOBS2_RATIO:.0f}x bcftools time",
            met=(j2.seconds / floor <= TARGET_JOBS2_RATIO) if floor else None,
            target_is_ratio=True,
            note=f"{j2.seconds:.1f} s"),
        Row("peak RSS, --jobs 1", j1.peak_rss_mb, "MB", baseline=js.peak_rss_mb,
            baseline_label=f"{small.alleles:,}-allele file",
            ratio=j1.peak_rss_mb / js.peak_rss_mb, ratio_label="of the small file's",
            target=f"≤ {TARGET_RSS_MB:.0f} MB", met=j1.peak_rss_mb <= TARGET_RSS_MB,
            note=f"tree {j1.tree_rss_mb:.0f} MB"),
        Row("peak RSS, --jobs 2 (largest process)", j2.peak_rss_mb, "MB",
            target=f"≤ {TARGET_RSS_MB:.0f} MB", met=j2.peak_rss_mb <= TARGET_RSS_MB,
            note=f"all processes together: {j2.tree_rss_mb:.0f} MB"),
        Row(f"build, {len(chromosomes)} per-chromosome files, --jobs 2", rate_split,
            "alleles/s", baseline=rate2, baseline_label="one file, --jobs 2",
            ratio=rate_split / rate2, ratio_label="of one file's rate",
            note=f"{jc.seconds:.1f} s, the same {split_variants:,} variants (#21: a Hail "
                 f"export's per-chromosome sites VCFs, built as one dataset); peak RSS "
                 f"{jc.peak_rss_mb:.0f} MB, all processes together {jc.tree_rss_mb:.0f} MB"),
        Row("index size", index_bytes / 1e6, "MB", baseline=data.bytes / 1e6,
            baseline_label="bgzipped VCF", ratio=index_bytes / data.bytes,
            ratio_label="of the VCF", note=f"{index_bytes / variants:.0f} bytes per variant"),
    ]  # fmt: skip
    figure.rows = rows
    return figure
