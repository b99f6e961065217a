"""Symbolic, breakend, ``*`` and ``<NON_REF>``/``<*>`` alleles: skipped and counted by kind.

A gVCF's reference blocks (records whose only ALT is ``<NON_REF>`` or ``<*>``) add
nothing: no key, no count, whatever their INFO holds. Kinds are recorded in
``dataset.json`` (``skipped_alleles``); ``skipped.symbolic`` stays their total.
"""

from __future__ import annotations

from pathlib import Path

from nodes.build.builder import BuildOptions
from nodes.build.builder import _build as build_with
from nodes.index.index_dir import read_metadata
from tests.nodes.helpers import counts_by_label, lookup, read_raw

SITES_HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=1,length=248956422>",
    "##contig=<ID=17,length=83257441>",
    '##ALT=<ID=DEL,Description="Deletion">',
    '##ALT=<ID=NON_REF,Description="Represents any possible alternative allele">',
    '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">',
    '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">',
    '##INFO=<ID=SVTYPE,Number=1,Type=String,Description="Type of structural variant">',
    '##INFO=<ID=END,Number=1,Type=Integer,Description="End position">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
]
SITES = [
    "1\t100\t.\tA\tC\t.\tPASS\tAC=3;AN=100",
    "1\t200\t.\tA\t<DEL>\t.\tPASS\tSVTYPE=DEL;END=300;AC=2;AN=100",
    "1\t300\t.\tG\tG]17:198982]\t.\tPASS\tSVTYPE=BND;AC=1;AN=100",
    "1\t310\t.\tG\tG.\t.\tPASS\tSVTYPE=BND;AC=1;AN=100",
    "1\t320\t.\tG\t.G\t.\tPASS\tSVTYPE=BND;AC=1;AN=100",
    "1\t400\t.\tA\tC,*\t.\tPASS\tAC=4,2;AN=100",
    "1\t500\t.\tA\tT,<NON_REF>\t.\tPASS\tAC=5,0;AN=100",
    "1\t600\t.\tA\t<NON_REF>\t.\tPASS\tEND=700",  # a reference block: no counts at all
    "1\t800\t.\tA\t.\t.\tPASS\tAC=0;AN=100",
    "1\t900\t.\tC\t<*>\t.\tPASS\tEND=950",  # bcftools' reference block
]


def test_sites_alleles_are_skipped_by_kind_on_both_paths(tmp_path: Path):
    vcf = tmp_path / "sites.vcf"
    vcf.write_text("\n".join([*SITES_HEADER, *SITES]) + "\n")
    stored = []
    for fast in (True, False):
        out = tmp_path / f"index-{fast}"
        build_with(BuildOptions(inputs=[vcf], dataset_id="d", out=out), fast_text=fast)
        meta = read_metadata(out)
        assert meta.skipped_alleles == {
            "symbolic": 1,
            "breakend": 3,
            "star": 1,
            "non_ref": 1,
            "reference_block": 2,
            "no_alt": 1,
        }
        assert meta.skipped["symbolic"] == 9
        assert meta.skipped["invalid"] == 0
        stored.append(read_raw(out))
        assert counts_by_label(lookup(out, "1", 400, "A", "C"))[""] == (4, 100, None, None, None)
        assert counts_by_label(lookup(out, "1", 500, "A", "T"))[""] == (5, 100, None, None, None)
        assert len(stored[-1]) == 3  # 1:100 A>C, 1:400 A>C, 1:500 A>T and nothing else
    assert stored[0] == stored[1]


GVCF_HEADER = [
    "##fileformat=VCFv4.2",
    "##GVCFBlock0-1=minGQ=0(inclusive),maxGQ=1(exclusive)",
    '##ALT=<ID=NON_REF,Description="Represents any possible alternative allele not already '
    'represented at this location by REF and ALT">',
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">',
    '##FORMAT=<ID=GQ,Number=1,Type=Integer,Description="Genotype Quality">',
    '##FORMAT=<ID=MIN_DP,Number=1,Type=Integer,Description="Minimum DP observed within the '
    'GVCF block">',
    '##INFO=<ID=END,Number=1,Type=Integer,Description="Stop position of the interval">',
    '##INFO=<ID=MLEAC,Number=A,Type=Integer,Description="Maximum likelihood expectation '
    '(MLE) for the allele counts">',
    "##contig=<ID=chr1,length=248956422>",
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2",
]
GVCF = [
    "chr1\t10000\t.\tT\t<NON_REF>\t.\t.\tEND=10100\tGT:DP:GQ:MIN_DP\t0/0:30:60:25\t0/0:28:50:20",
    "chr1\t10101\t.\tA\tG,<NON_REF>\t250.6\t.\tMLEAC=2,0\tGT:DP:GQ\t1/1:31:90\t0/1:29:80",
    "chr1\t10102\t.\tC\t<NON_REF>\t.\t.\tEND=10500\tGT:DP:GQ:MIN_DP\t0/0:30:60:25\t0/0:30:60:25",
    "chr1\t10501\t.\tTA\tT,<NON_REF>\t80.2\t.\tMLEAC=1,0\tGT:DP:GQ\t0/0:31:90\t0/1:29:80",
]


def test_a_gvcf_s_reference_blocks_add_nothing(tmp_path: Path):
    vcf = tmp_path / "joint.g.vcf"
    vcf.write_text("\n".join([*GVCF_HEADER, *GVCF]) + "\n")
    out = tmp_path / "index"
    build_with(BuildOptions(inputs=[vcf], dataset_id="g", out=out), fast_text=True)
    meta = read_metadata(out)
    assert meta.info_convention == "genotypes"
    assert meta.skipped_alleles == {"reference_block": 2, "non_ref": 2}
    raw = read_raw(out)
    assert len(raw) == 2
    # Counted from GT: 1/1 and 0/1 of A>G; 0/0 and 0/1 of TA>T (2 samples, AN 4; autosomal,
    # so hemizygous is a known 0).
    assert counts_by_label(lookup(out, "1", 10101, "A", "G"))[""] == (3, 4, 1, 1, 0)
    assert counts_by_label(lookup(out, "1", 10501, "TA", "T"))[""] == (1, 4, 0, 1, 0)
    assert meta.sample_count == 2
