"""Convention detection (:func:`nodes.build.conventions.detect`): what, why, what each reads.

Each header is written here in its tool's style (the ``##INFO`` lines as the tool
writes them); the expectations are the INFO keys a reader of that tool's
documentation would pick, spelled out by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

from mesh.errors import IndexBuildError
from nodes.build.builder import BuildOptions, build_index
from nodes.build.conventions import SPLIT_BCFTOOLS, SPLIT_HERE, SPLIT_VT, detect, detect_file
from nodes.index.index_dir import read_metadata


def _info(key: str, number: str, kind: str = "Integer", text: str = "x") -> str:
    return f'##INFO=<ID={key},Number={number},Type={kind},Description="{text}">'


EXAC_INFO = [
    _info(
        "AC",
        "A",
        text="Allele count in genotypes, for each ALT allele, in the same order as listed",
    ),
    _info("AC_AFR", "A", text="African/African American Allele Counts"),
    _info("AC_Adj", "A", text="Adjusted Allele Counts"),
    _info("AC_FEMALE", "A", text="Female Allele Counts"),
    _info("AC_Hemi", "A", text="Adjusted Hemizygous Counts"),
    _info("AC_Het", "A", text="Adjusted Heterozygous Counts"),
    _info("AC_Hom", "A", text="Adjusted Homozygous Counts"),
    _info("AC_MALE", "A", text="Male Allele Counts"),
    _info("AC_NFE", "A", text="Non-Finnish European Allele Counts"),
    _info("AF", "A", "Float", "Allele Frequency, for each ALT allele, in the same order as listed"),
    _info("AN", "1", text="Total number of alleles in called genotypes"),
    _info("AN_AFR", "1", text="African/African American Chromosome Count"),
    _info("AN_Adj", "1", text="Adjusted Chrom Counts"),
    _info("AN_FEMALE", "1", text="Female Chromosome Count"),
    _info("AN_MALE", "1", text="Male Chromosome Count"),
    _info("AN_NFE", "1", text="Non-Finnish European Chromosome Count"),
    _info("Hemi_AFR", "A", text="African/African American Hemizygous Counts"),
    _info("Hom_AFR", "A", text="African/African American Homozygous Counts"),
    _info("Hom_NFE", "A", text="Non-Finnish European Homozygous Counts"),
]
VT_LINE = _info("OLD_MULTIALLELIC", "1", "String", "Original chr:pos:ref:alt encoding")


def _gnomad_v4_joint() -> list[str]:
    """A gnomAD v4.1 joint file's count keys: three sets, per genetic ancestry and sex."""
    lines = []
    for subset in ("joint", "exomes", "genomes"):
        for suffix in ("", "_XX", "_XY", "_afr", "_afr_XX", "_nfe", "_nfe_XY", "_remaining"):
            lines.append(
                _info(f"AC_{subset}{suffix}", "A", text=f"Alternate allele count {subset}")
            )
            lines.append(_info(f"AN_{subset}{suffix}", "1", text="Total number of alleles"))
            lines.append(_info(f"AF_{subset}{suffix}", "A", "Float", "Alternate allele frequency"))
            lines.append(_info(f"nhomalt_{subset}{suffix}", "A", text="Count of homozygous"))
        lines.append(_info(f"grpmax_{subset}", "A", "String", "Genetic ancestry group with max AF"))
        lines.append(_info(f"faf95_{subset}", "A", "Float", "Filtering allele frequency"))
    lines.append(_info("AS_VQSLOD", "A", "Float", "Allele-specific log-odds ratio"))
    lines.append(_info("AS_culprit", "A", "String", "Worst-performing annotation in the AS-VQSR"))
    return lines


def _header(tmp_path: Path, info: list[str], extra: tuple[str, ...] = ()) -> pysam.VariantHeader:
    text = "\n".join(
        [
            "##fileformat=VCFv4.2",
            "##contig=<ID=1,length=249250621>",
            *extra,
            *info,
            "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
            "",
        ]
    )
    path = tmp_path / "header.vcf"
    path.write_text(text)
    with pysam.VariantFile(str(path)) as vcf:
        return vcf.header.copy()


def test_exac_split_by_vt_is_named_with_its_reason_and_every_group_s_keys(tmp_path):
    found = detect(_header(tmp_path, [*EXAC_INFO, VT_LINE]))
    assert found.name == "exac"
    assert found.allele_split == SPLIT_VT
    assert any("AC_Adj and AN_Adj" in r for r in found.reasons)
    assert any("OLD_MULTIALLELIC" in r and "original allele order" in r for r in found.reasons)
    fields = {g.label: g.fields for g in found.groups}
    assert fields == {
        "": {"ac": "AC_Adj", "an": "AN_Adj", "hom": "AC_Hom", "hemi": "AC_Hemi"},
        "AFR": {"ac": "AC_AFR", "an": "AN_AFR", "hom": "Hom_AFR", "hemi": "Hemi_AFR"},
        "NFE": {"ac": "AC_NFE", "an": "AN_NFE", "hom": "Hom_NFE"},
        "M": {"ac": "AC_MALE", "an": "AN_MALE"},
        "F": {"ac": "AC_FEMALE", "an": "AN_FEMALE"},
    }
    assert found.numbers["AC_Adj"] == "A"
    assert found.numbers["AN_Adj"] == "1"
    assert "AC" in found.ignored  # the unadjusted AC is not read
    assert "AC_Het" in found.ignored  # one value per het genotype: derived instead
    json.dumps(found.to_json())  # what dataset.json records


def test_gnomad_v4_joint_sets_are_kept_apart_and_chosen_with_subset(tmp_path):
    header = _header(tmp_path, _gnomad_v4_joint())
    joint = detect(header)
    assert joint.name == "gnomad-joint"
    assert joint.subset == "joint"
    assert joint.subsets == ("joint", "exomes", "genomes")
    assert any("choose with --subset" in r for r in joint.reasons)
    fields = {g.label: g.fields for g in joint.groups}
    assert fields[""] == {"ac": "AC_joint", "an": "AN_joint", "hom": "nhomalt_joint"}
    assert fields["F"] == {"ac": "AC_joint_XX", "an": "AN_joint_XX", "hom": "nhomalt_joint_XX"}
    assert fields["AFR_F"]["ac"] == "AC_joint_afr_XX"
    assert fields["NFE_M"]["ac"] == "AC_joint_nfe_XY"
    assert fields["REMAINING"]["ac"] == "AC_joint_remaining"
    assert set(fields) == {"", "F", "M", "AFR", "AFR_F", "NFE", "NFE_M", "REMAINING"}
    # No key of another set in any group.
    assert all("joint" in k for f in fields.values() for k in f.values())
    assert "2 AS_* fields" in joint.ignored
    assert "grpmax_joint" in joint.extras
    assert "faf95_exomes" in joint.extras

    exomes = detect(header, subset="exomes")
    assert exomes.name == "gnomad-exomes"
    assert exomes.subset == "exomes"
    assert all("exomes" in k for g in exomes.groups for k in g.fields.values())
    with pytest.raises(IndexBuildError, match=r"--subset genomes: the header has no AC_genomes"):
        detect(_header(tmp_path, _gnomad_v4_joint()[:64]), subset="genomes")


def test_gdi_frequency_only_labels_and_basic_files(tmp_path):
    gdi = detect(
        _header(
            tmp_path,
            [
                _info("AC", "A"),
                _info("AN", "1"),
                _info("AC_NO", "A"),
                _info("AN_NO", "1"),
                _info("AF_DE", "A", "Float"),
            ],
        )
    )
    assert gdi.name == "gdi"
    by_label = {g.label: g for g in gdi.groups}
    assert by_label["DE"].frequency_only
    assert by_label["DE"].fields == {"af": "AF_DE"}
    assert not by_label["NO"].frequency_only
    basic = detect(_header(tmp_path, [_info("AC", "A"), _info("AN", "1")]))
    assert basic.name == "basic"
    assert basic.populations == []
    assert basic.allele_split == SPLIT_HERE


def test_bcftools_norm_split_is_recognized_from_its_command_line(tmp_path):
    line = "##bcftools_normCommand=norm -m- -Oz -o split.vcf.gz multi.vcf.gz; Date=Tue Dec  1"
    found = detect(_header(tmp_path, [_info("AC", "A"), _info("AN", "1")], (line,)))
    assert found.allele_split == SPLIT_BCFTOOLS
    assert any("bcftools_normCommand" in r for r in found.reasons)


def test_no_counts_and_missing_declared_keys_are_refused(tmp_path):
    with pytest.raises(IndexBuildError, match="no allele counts"):
        detect(_header(tmp_path, [_info("DP", "1")]))
    declared = "##allelemesh_groups=NO"
    with pytest.raises(IndexBuildError, match=r"INFO nhomalt \(group total\) not in the header"):
        detect(_header(tmp_path, [_info("AC", "A"), _info("AN", "1")], (declared,)))


def test_a_build_records_the_detection_and_index_info_shows_it(tmp_path):
    body = "1\t13404\t.\tG\tA\t.\tPASS\tAC_Adj=2;AN_Adj=100;AC_AFR=1;AN_AFR=20\n"
    info = [_info("AC_Adj", "A"), _info("AN_Adj", "1"), _info("AC_AFR", "A"), _info("AN_AFR", "1")]
    path = tmp_path / "exac.vcf"
    path.write_text(
        "\n".join(["##fileformat=VCFv4.1", "##contig=<ID=1,length=249250621>", *info])
        + "\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        + body
    )
    out = tmp_path / "index"
    build_index(BuildOptions(inputs=[path], dataset_id="exac", out=out, assembly="GRCh37"))
    recorded = read_metadata(out).convention
    assert recorded == detect_file(str(path)).to_json()
    assert recorded["name"] == "exac"
    assert recorded["groups"]["AFR"] == {"ac": "AC_AFR", "an": "AN_AFR"}
    shown = subprocess.run(
        [sys.executable, "-m", "mesh", "index", "info", str(out), "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(shown.stdout)["convention"]["reasons"] == recorded["reasons"]
