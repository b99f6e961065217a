"""``allelemesh index preview`` over several inputs, on a terminal, and what it meets around it.

Several files with a BCF, the progress bar with ``--all``, genotype and frequency-only
rows, ``node check-config`` against the recorded check, another assembly, duplicates past
the writer's window. The VCF and the expected numbers come from
:mod:`tests.nodes.build.test_index_preview`, worked out there from the rows it writes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mesh.disclosure import POLICY_VERSION
from tests.nodes.build.test_index_preview import (
    HEADER,
    _cli,
    _policy_file,
    _preview_json,
    expected_disclosure,
    write_vcf,
)
from tests.terminal import run_on_a_terminal


def test_several_files_and_bcf_records_numbered(tmp_path: Path) -> None:
    """One summary per file, totals over them; a BCF's problem by record number."""
    text = tmp_path / "chr1.vcf"
    expected = write_vcf(text)
    lines = [
        line.replace("##contig=<ID=1,", "##contig=<ID=2,length=242193529>")
        if "ID=1," in line
        else line
        for line in HEADER
    ]
    lines += [
        "2\t100\t.\tA\tC\t.\tPASS\tAC=10;AN=2000",
        "2\t200\t.\tA\tC\t.\tPASS\tAC=2500;AN=2000",  # the second record: invalid
        "2\t300\t.\tA\tC,G\t.\tPASS\tAC=1,2;AN=2000",
    ]
    vcf2 = tmp_path / "chr2.vcf"
    vcf2.write_text("\n".join(lines) + "\n")
    bcf = tmp_path / "chr2.bcf"
    subprocess.run(["bcftools", "view", "-Ob", "-o", str(bcf), str(vcf2)], check=True)
    data = _preview_json(text, bcf)
    first, second = data["files"]
    assert first["records"] == expected["records"]
    assert (second["records"], second["alleles"]) == (3, 3)
    assert second["convention"]["name"] == "gdi"  # the same header keys
    (problem,) = second["problems"]
    assert (problem["line"], problem["number"], problem["record"]) == (None, 2, "2:200")
    assert data["records"] == expected["records"] + 3  # type: ignore[operator]
    assert data["alleles"] == expected["alleles"] + 3  # type: ignore[operator]
    assert data["variants"] == expected["variants"] + 3  # type: ignore[operator]
    assert data["skipped"]["invalid"] == expected["invalid"] + 1  # type: ignore[operator]


def test_all_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    vcf = tmp_path / "many.vcf"
    lines = list(HEADER)
    lines += [f"1\t{1000 + i}\t.\tA\tC\t.\tPASS\tAC=10;AN=2000" for i in range(30_000)]
    vcf.write_text("\n".join(lines) + "\n")
    drawn = run_on_a_terminal([sys.executable, "-m", "mesh", "index", "preview", str(vcf), "--all"])
    assert "previewing 1 file(s)" in drawn
    assert "records/s" in drawn
    assert "30,000 records" in drawn  # the summary after it
    sample = run_on_a_terminal([sys.executable, "-m", "mesh", "index", "preview", str(vcf)])
    assert "previewing" not in sample  # a sample is quick: no bar


def test_genotype_counts_and_frequency_only_rows(tmp_path: Path) -> None:
    """The smallest genotype count released (exact policy); AF-only totals under a floor."""
    from tests.vcf_factory import GroupCounts, SiteRecord, write_gnomad_sites_vcf

    records = [
        SiteRecord("1", 1000, "A", ["G"], GroupCounts(an=100, ac=[5], hom=[1])),  # het 3
        SiteRecord("1", 2000, "A", ["C"], GroupCounts(an=100, ac=[20], hom=[4])),  # het 12
    ]
    vcf = write_gnomad_sites_vcf(tmp_path / "g.vcf", records, populations=[], bgzip=False)
    exact = _policy_file(tmp_path / "exact.toml", {"round_counts_to": 0})
    disclosure = _preview_json(vcf, "--policy", exact)["disclosure"]
    assert disclosure["smallest_released_genotype_count"] == 1  # the hom of 1000
    assert disclosure["smallest_released_count"] == 5
    assert disclosure["population_rows_withheld_by_floor"] == 0

    frequencies = tmp_path / "af.vcf"
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1,length=248956422>",
        '##INFO=<ID=AF,Number=A,Type=Float,Description="AF">',
        '##INFO=<ID=AF_NO,Number=A,Type=Float,Description="AF_NO">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
        "1\t100\t.\tA\tC\t.\tPASS\tAF=0.01;AF_NO=0.02",
        "1\t200\t.\tA\tG\t.\tPASS\tAF=0.3;AF_NO=0.25",
    ]
    frequencies.write_text("\n".join(lines) + "\n")
    floored = _policy_file(tmp_path / "floor.toml", {"min_allele_count": 5})
    data = _preview_json(frequencies, "--policy", floored)
    assert data["variants"] == 2
    # no AC to check against the floor: the node withholds them (unknown, never 0)
    assert data["disclosure"]["totals_withheld_unknown_counts"] == 2
    assert data["disclosure"]["totals_withheld_by_floor"] == 0
    assert data["disclosure"]["smallest_released_count"] is None


def test_node_check_config_compares_the_recorded_check(tmp_path: Path) -> None:
    """A node.toml as --policy (its [[datasets]] entry); check-config says how the
    index's recorded check compares with the settings it is served under."""
    from tests.mesh_harness import free_port

    vcf = tmp_path / "gdi.vcf"
    write_vcf(vcf)
    out = tmp_path / "idx"

    def node_toml(min_individuals: int) -> Path:
        config = tmp_path / "node.toml"
        config.write_text(
            f'[node]\nid = "no-oslo-1"\ncountry = "NO"\nlisten = "127.0.0.1:{free_port()}"\n'
            f'[[datasets]]\nid = "no-a"\nindex = "{out}"\nmin_individuals = {min_individuals}\n'
            'on_suppression = "collapse"\n'
        )
        return config

    config = node_toml(3)
    build = _cli("build", vcf, "--dataset", "no-a", "--out", out, "--on-error", "skip",
                 "--policy", config)  # fmt: skip
    assert build.returncode == 0, build.stderr
    env = {**os.environ, "ALLELEMESH_RUNTIME_DIR": str(tmp_path / "run")}

    def check_line() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "mesh", "node", "check-config", str(config), "--insecure"],
            capture_output=True, text=True, timeout=60, env=env, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        return next(line for line in result.stdout.splitlines() if "disclosure" in line)

    expected = expected_disclosure(5, True, 0, 0)
    assert check_line() == (
        f"dataset no-a: disclosure checked with policy version {POLICY_VERSION} under these "
        f"settings: {expected['totals_withheld_by_floor']} totals and "
        f"{expected['population_rows_withheld_by_floor']} population rows withheld, "
        f"{expected['variants_collapsed']} variants collapsed"
    )
    node_toml(5)  # served under a stricter floor than it was checked with
    line = check_line()
    assert "under other settings: min_individuals 3 there, 5 here" in line
    assert "allele_floor 5 there, 9 here" in line


def test_another_assembly_is_refused_naming_the_contig(tmp_path: Path) -> None:
    vcf = tmp_path / "grch37.vcf"
    lines = [line.replace("248956422", "249250621") for line in HEADER]  # GRCh37's chr1
    lines.append("1\t100\t.\tA\tC\t.\tPASS\tAC=10;AN=2000")
    vcf.write_text("\n".join(lines) + "\n")
    result = _cli("preview", vcf)
    assert result.returncode == 1
    assert "##contig 1 has length 249,250,621" in result.stderr
    assert "Traceback" not in result.stderr
    assert _preview_json(vcf, "--assembly", "GRCh37")["files"][0]["assembly_check"] == {
        "contigs_matched": 1
    }


def test_duplicates_past_the_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys the input moved past are let go (memory); a file going back says so."""
    from mesh.model.genome import Assembly
    from nodes.build import preview as preview_module

    monkeypatch.setattr(preview_module, "_WINDOW", 4)
    body = [f"1\t{5000 + 2000 * i}\t.\tA\tC\t.\tPASS\tAC=10;AN=2000" for i in range(12)]
    sorted_vcf = tmp_path / "sorted.vcf"
    sorted_vcf.write_text("\n".join([*HEADER, *body, body[-1]]) + "\n")
    options = preview_module.PreviewOptions([sorted_vcf], Assembly.GRCH38, all_records=True)
    summary = preview_module.preview(options).to_json()
    assert (summary["variants"], summary["skipped"]["duplicate"]) == (12, 1)
    assert summary["notes"] == []
    unsorted = tmp_path / "unsorted.vcf"
    unsorted.write_text("\n".join([*HEADER, *body, body[0]]) + "\n")
    options = preview_module.PreviewOptions([unsorted], Assembly.GRCH38, all_records=True)
    summary = preview_module.preview(options).to_json()
    assert summary["skipped"]["duplicate"] == 0  # the first key was let go ...
    assert "not sorted" in summary["notes"][0]  # ... and the summary says it may be missed
