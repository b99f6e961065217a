"""gnomAD v4 joint files: ``joint``, ``exomes`` and ``genomes`` sets kept apart, one chosen.

The file is written in the v4.1 joint release's style: every count key of each set
(``AC_joint``, ``AN_exomes_afr_XX``, ``nhomalt_genomes_XY``...), the ``grpmax``/
``faf95`` summaries and the allele-specific ``AS_*`` VQSR fields. Each set holds
different counts, so a lookup shows which one was read; the default is ``joint``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

from mesh.errors import IndexBuildError
from nodes.build.builder import BuildOptions, build_index
from nodes.index.index_dir import read_metadata
from tests.nodes.helpers import counts_by_label, lookup

SETS = ("joint", "exomes", "genomes")
#: gnomAD suffix → the GDI label served.
GROUPS = {"": "", "_XX": "F", "_XY": "M", "_afr": "AFR", "_afr_XX": "AFR_F", "_nfe": "NFE"}


def _info(key: str, number: str, kind: str, text: str) -> str:
    return f'##INFO=<ID={key},Number={number},Type={kind},Description="{text}">'


def _write(tmp_path: Path) -> tuple[Path, dict[tuple[int, str], dict[str, dict[str, tuple]]]]:
    rng = random.Random(4)
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=248956422>"]
    for s in SETS:
        for suffix in GROUPS:
            lines.append(_info(f"AC_{s}{suffix}", "A", "Integer", f"Alternate allele count in {s}"))
            lines.append(
                _info(f"AN_{s}{suffix}", "1", "Integer", f"Total number of alleles in {s}")
            )
            lines.append(
                _info(f"AF_{s}{suffix}", "A", "Float", f"Alternate allele frequency in {s}")
            )
            lines.append(
                _info(
                    f"nhomalt_{s}{suffix}",
                    "A",
                    "Integer",
                    f"Count of homozygous individuals in {s}",
                )
            )
        lines.append(
            _info(f"grpmax_{s}", "A", "String", "Genetic ancestry group with the maximum AF")
        )
        lines.append(_info(f"faf95_{s}", "A", "Float", "Filtering allele frequency (95% CI)"))
    lines.append(
        _info("AS_VQSLOD", "A", "Float", "Allele-specific log-odds ratio of being a true variant")
    )
    lines.append(
        _info("AS_culprit", "A", "String", "Allele-specific worst-performing annotation in AS-VQSR")
    )
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    expected: dict[tuple[int, str], dict[str, dict[str, tuple]]] = {}
    for i in range(25):
        pos = 100_000 + 211 * i
        ref, alt = rng.sample("ACGT", 2)
        info = []
        want: dict[str, dict[str, tuple]] = {}
        for s in SETS:
            want[s] = {}
            for suffix, label in GROUPS.items():
                an = 2 * rng.randint(100, 5000)
                ac = rng.randint(0, an // 4)
                hom = rng.randint(0, ac // 2)
                info += [
                    f"AC_{s}{suffix}={ac}",
                    f"AN_{s}{suffix}={an}",
                    f"AF_{s}{suffix}={ac / an:.5g}",
                ]
                info.append(f"nhomalt_{s}{suffix}={hom}")
                want[s][label] = (ac, an, hom, ac - 2 * hom, None)
            info += [f"grpmax_{s}=afr", f"faf95_{s}=0.0001"]
        info += ["AS_VQSLOD=5.1", "AS_culprit=AS_MQ"]
        lines.append(f"chr1\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t{';'.join(info)}")
        expected[(pos, f"{ref}>{alt}")] = want
    path = tmp_path / "gnomad.joint.v4.1.sites.chr1.vcf"
    path.write_text("\n".join(lines) + "\n")
    return Path(pysam.tabix_index(str(path), preset="vcf", force=True)), expected


def _check(index: Path, expected: dict, chosen: str) -> None:
    for (pos, change), want in expected.items():
        ref, alt = change.split(">")
        assert counts_by_label(lookup(index, "1", pos, ref, alt)) == want[chosen], (pos, chosen)


def test_joint_is_read_by_default_and_subset_chooses_another_set(tmp_path):
    vcf, expected = _write(tmp_path)
    joint = tmp_path / "joint"
    build_index(BuildOptions(inputs=[vcf], dataset_id="gnomad", out=joint))
    _check(joint, expected, "joint")
    meta = read_metadata(joint)
    assert meta.info_convention == "gnomad-joint"
    assert meta.populations == ["AFR", "AFR_F", "F", "M", "NFE"]
    assert meta.convention["subsets"] == list(SETS)
    assert "2 AS_* fields" in meta.convention["ignored"]
    assert "grpmax_joint" in meta.convention["extras"]
    for chosen in ("exomes", "genomes"):
        out = tmp_path / chosen
        build_index(BuildOptions(inputs=[vcf], dataset_id="gnomad", out=out, subset=chosen))
        _check(out, expected, chosen)
        assert read_metadata(out).convention["subset"] == chosen
    # The CLI flag, end to end.
    cli = tmp_path / "cli"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mesh",
            "index",
            "build",
            str(vcf),
            "--dataset",
            "gnomad",
            "--out",
            str(cli),
            "--subset",
            "genomes",
        ],
        check=True,
        capture_output=True,
    )
    _check(cli, expected, "genomes")
    shown = subprocess.run(
        [sys.executable, "-m", "mesh", "index", "info", str(cli), "--json"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert json.loads(shown.stdout)["info_convention"] == "gnomad-genomes"


def test_a_subset_the_file_lacks_is_refused_naming_the_sets_it_has(tmp_path):
    vcf, _ = _write(tmp_path)
    text = pysam.BGZFile(str(vcf), "rb").read().decode()
    only_joint = tmp_path / "joint-only.vcf"
    only_joint.write_text(
        "\n".join(
            line for line in text.splitlines() if "exomes" not in line and "genomes" not in line
        )
        + "\n"
    )
    with pytest.raises(
        IndexBuildError,
        match=r"--subset exomes: the header has no AC_exomes/AN_exomes \(count sets here: joint\)",
    ):
        build_index(
            BuildOptions(inputs=[only_joint], dataset_id="g", out=tmp_path / "i", subset="exomes")
        )
