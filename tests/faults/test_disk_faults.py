"""Bad inputs and bad disks: a clear error, an exit code, and never a half-written index.

Each case runs the real CLI (``python -m mesh index build`` / ``node serve``) as a
subprocess over an output directory that already holds a good index, then checks
that the process failed with exit status 1 and an ``error:`` line naming the problem
(no traceback), that ``DIR`` still points at the good version (readable, whole),
and that no temporary build directory was left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import resource
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults.builds import finished_versions, leftovers, run_build, served_version
from tests.faults.figures import Figures
from tests.faults.procs import FleetNode
from tests.mesh_harness import REPO, expected_totals, random_sites
from tests.vcf_factory import truncate_file, write_sites_vcf

pytestmark = pytest.mark.slow


def good_index(root: Path) -> tuple[Path, dict]:
    root.mkdir(parents=True, exist_ok=True)
    records = random_sites(random.Random(2), 30)
    vcf = write_sites_vcf(root / "good.vcf", records, bgzip=True)
    out = root / "out" / "index"
    out.parent.mkdir(parents=True, exist_ok=True)
    result = run_build(vcf, out)
    assert result.returncode == 0, result.stderr
    return out, expected_totals(records)


def assert_index_untouched(out: Path, expected: dict, before: list[str]) -> None:
    """``DIR`` still serves the good version whole; no new version, no tmp dir."""
    assert served_version(out, [expected]) == 0, "the good index is no longer served whole"
    assert finished_versions(out) == before
    assert leftovers(out) == []


def assert_refused_cleanly(
    result: subprocess.CompletedProcess[str],
    out: Path,
    expected: dict,
    before: list[str],
    *words: str,
) -> None:
    """Exit 1, one clear error naming the problem, old index intact, nothing left over."""
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "error:" in result.stderr
    for word in words:
        assert word.lower() in result.stderr.lower(), result.stderr[-2000:]
    assert_index_untouched(out, expected, before)


def _bad_vcf_cases(root: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    records = random_sites(random.Random(4), 400)
    truncated = truncate_file(write_sites_vcf(root / "trunc.vcf", records, bgzip=True), 0.5)
    plain = write_sites_vcf(root / "corrupt.vcf", records)
    lines = plain.read_text().splitlines()
    lines[len(lines) // 2] = "1\tnot-a-position\t.\tA\tC\t.\tPASS\tAC=1;AN=10"
    plain.write_text("\n".join(lines) + "\n")
    garbage = write_sites_vcf(root / "garbage.vcf", records, bgzip=True)
    data = bytearray(garbage.read_bytes())
    rng = random.Random(9)
    for i in rng.sample(range(len(data) // 3, len(data)), 64):
        data[i] = rng.randrange(256)
    garbage.write_bytes(bytes(data))
    beyond = write_sites_vcf(root / "beyond.vcf", records)
    beyond.write_text(
        beyond.read_text().replace("\tchr1\t", "\tchr1\t", 1)
        + ("chr2\t243000000\t.\tA\tC\t.\tPASS\tAC=1;AN=10;nhomalt=0\n")
    )  # chr2 of GRCh38 ends at 242,193,529
    alien = write_sites_vcf(root / "alien.vcf", records)
    alien.write_text(alien.read_text().replace("\nchr1\t", "\nchrZZ_alt\t"))
    return {
        "truncated bgzip": (truncated, ()),
        "corrupt line": (plain, ()),
        "corrupt bgzip block": (garbage, ()),
        "position beyond the chromosome": (beyond, ("243000000",)),
        "contig unknown to the assembly": (alien, ("chrZZ_alt",)),
    }


def test_bad_vcfs_fail_cleanly_and_keep_the_served_index(tmp_path, figures: Figures):
    """Truncated/corrupt VCF, contigs not of the assembly: exit 1, clear error, old index."""
    out, expected = good_index(tmp_path)
    before = finished_versions(out)
    messages = {}
    for name, (vcf, words) in _bad_vcf_cases(tmp_path).items():
        result = run_build(vcf, out)
        figures.faults_injected += 1
        messages[name] = result.stderr.strip().splitlines()[-1][:200] if result.stderr else ""
        assert_refused_cleanly(result, out, expected, before, *words)
    figures.note(errors_reported=messages)


@contextlib.contextmanager
def small_disk(path: Path, size: str) -> Iterator[str]:
    """A tiny tmpfs at ``path`` (root), else nothing: yields the method used."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = False
    if os.geteuid() == 0:
        mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
    try:
        yield "tmpfs" if mounted else "RLIMIT_FSIZE"
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], check=False)


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        # Ignored SIGXFSZ: writes past the limit fail with EFBIG, as on a full disk.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_vcf_of_another_assembly_is_refused(tmp_path, figures):
    """A GRCh37 VCF (header contig lengths and ##reference) built as GRCh38 is refused."""
    out, expected = good_index(tmp_path)
    before = finished_versions(out)
    records = random_sites(random.Random(4), 100)
    grch37 = write_sites_vcf(tmp_path / "grch37.vcf", records, assembly="GRCh37")
    result = run_build(grch37, out)
    figures.faults_injected += 1
    figures.note(exit_code=result.returncode, output=(result.stdout + result.stderr)[-300:])
    assert_refused_cleanly(result, out, expected, before, "GRCh3")


def test_full_output_disk_fails_cleanly_and_keeps_the_served_index(tmp_path, figures):
    """A full output disk mid-build: exit 1, clear error, old index intact, no tmp left."""
    # Sized so the index outgrows the 1 MiB disk even in schema 3's compact values (15,000
    # records fitted once the labels stopped being repeated in every value).
    records = random_sites(random.Random(6), 80_000, span=2_000_000)
    big = write_sites_vcf(tmp_path / "big.vcf", records, bgzip=True)
    with small_disk(tmp_path / "disk", "1m") as method:
        out, expected = good_index(tmp_path / "disk")
        before = finished_versions(out)
        popen = {} if method == "tmpfs" else {"preexec_fn": _limit_file_size(512 * 1024)}
        result = run_build(big, out, **popen)
        figures.faults_injected += 1
        figures.note(method=method, error=result.stderr.strip().splitlines()[-1:])
        assert result.returncode == 1, result.stderr[-2000:]
        assert_index_untouched(out, expected, before)
    assert "Traceback" not in result.stderr
    assert "error:" in result.stderr
    assert "disk full" in result.stderr


def _drop_dac_override() -> None:
    """In the child: give up CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (root obeys modes)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP: gone at exec


def test_unreadable_index_at_start_stops_the_node_with_a_clear_error(tmp_path, figures):
    """An index the node cannot read: it exits non-zero at once, naming the directory."""
    out, _ = good_index(tmp_path)
    version = out.resolve()
    cases: dict[str, Callable[[], None]] = {
        "dangling symlink": lambda: os.rename(version, version.with_name("moved")),
        "corrupt data.mdb": lambda: (version / "data.mdb").write_bytes(os.urandom(8192)),
        "corrupt dataset.json": lambda: (version / "dataset.json").write_text("{not json"),
        "no permission": lambda: version.chmod(0),
    }
    outcomes = {}
    for name, damage in cases.items():
        out, _ = good_index(tmp_path / name.replace(" ", "-"))
        version = out.resolve()
        damage()
        node = FleetNode(f"broken-{len(outcomes)}", "NO", [out])
        # root reads anything: the node drops the capabilities that let it.
        result = subprocess.run(
            node.command(),
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            preexec_fn=_drop_dac_override,
        )
        figures.faults_injected += 1
        outcomes[name] = (result.returncode, result.stderr.strip().splitlines()[-1:])
        assert result.returncode != 0, (name, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, (name, result.stderr[-3000:])
        assert str(out.name) in result.stderr, (name, result.stderr[-2000:])
    figures.note(exit_codes_and_errors=outcomes)
