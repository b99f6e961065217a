"""Figure 8: ``allelemesh annotate`` over a three-country mesh against ``bcftools annotate``.

Three node processes (NO, FI, LU) serve the fan-out figure's small index, each under its
own dataset id; a gateway federates them. ``allelemesh annotate`` (its own process, the
default 4 calls of 1,000 variants in flight) annotates that same sites VCF through the
gateway with AF/AC/AN per country and pooled. The baseline is ``bcftools annotate``
copying AF/AC/AN from a local sites VCF of the same counts (the file itself): no network,
no federation, the htslib floor of the same job.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.procs import ProcessSet
from bench.report import Figure, Row
from bench.workspace import Workspace, ensure_bcftools

TITLE = "annotate a VCF over the mesh vs bcftools annotate"
COUNTRIES = ("NO", "FI", "LU")


def _annotate(ws: Workspace, target: str, tls_args: list[str], out: Path) -> float:
    command = [
        sys.executable, "-m", "mesh", "annotate", str(ws.node_dataset().vcf),
        "--target", target, "-o", str(out), *tls_args,
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        command, capture_output=True, text=True, check=False, timeout=1800
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"annotate failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def _bcftools(exe: str, vcf: Path, out: Path) -> float:
    command = [exe, "annotate", "-a", str(vcf), "-c", "INFO/AF,INFO/AC,INFO/AN", "-Oz",
               "-o", str(out), str(vcf)]  # fmt: skip
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True, timeout=1800)  # noqa: S603
    return time.perf_counter() - started


def run(ws: Workspace, done: dict[str, Figure]) -> Figure:
    """Annotate through the gateway, then with bcftools from the local file."""
    data = ws.node_dataset()
    alleles = ws.settings.node_alleles
    pki = ws.pki()  # first: it sets ws.pki_note
    figure = Figure("annotate", TITLE)
    figure.setup = (
        f"Input: the {alleles:,}-allele sites VCF of the fan-out figure; three "
        "`allelemesh node serve` processes (NO, FI, LU) over its index, one `allelemesh "
        f"gateway serve`; {ws.pki_note}. `allelemesh annotate` in its own process, default "
        "batches (1,000 variants, 4 in flight), AF/AC/AN per country and pooled. Baseline: "
        "`bcftools annotate -a` the same file (same counts, local). Every process on the "
        "same 2 cores."
    )
    work = ws.work / "run" / "annotate"
    with ProcessSet(work, pki) as procs:
        nodes = [
            procs.start_node(f"ann-{cc.lower()}", cc, ws.node_index(f"ann-{cc.lower()}"))
            for cc in COUNTRIES
        ]
        procs.wait_ready(nodes)
        gateway = procs.start_gateway("ann-gateway", nodes, timeout_ms=10_000)
        procs.wait_ready([gateway])
        tls = procs.client_tls()
        tls_args = (
            ["--ca", str(tls.ca), "--cert", str(tls.cert), "--key", str(tls.key)]
            if tls
            else ["--insecure"]
        )
        seconds = _annotate(ws, gateway.address, tls_args, work / "annotated.vcf.gz")
    rate = alleles / seconds
    exe, note = ensure_bcftools()
    if exe is None:
        figure.rows = [Row("annotate over the mesh", rate, "variants/s", note=note)]
        return figure
    base_seconds = _bcftools(exe, data.vcf, work / "bcftools.vcf.gz")
    base_rate = alleles / base_seconds
    figure.rows = [
        Row("annotate over the mesh", rate, "variants/s", baseline=base_rate,
            baseline_label="bcftools annotate", ratio=base_rate / rate, ratio_label="slower",
            note=f"{seconds:.1f} s incl. process start; bcftools {base_seconds:.2f} s"),
    ]  # fmt: skip
    return figure
