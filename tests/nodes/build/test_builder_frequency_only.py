"""AF-only files (GDI's writer requires only ``AF``/``AF_<L>``): frequencies, no invented counts.

The index stores each frequency with its counts absent (never an AC/AN worked back
from it); pooling skips such a part and says so (a lower bound, ``ROUNDED``) rather
than letting it make the other datasets' sum unknown.
"""

from __future__ import annotations

import pytest

from mesh.errors import IndexBuildError
from mesh.federation import is_lower_bound, pool_counts
from mesh.v1 import allele_pb2
from nodes.build.builder import BuildOptions
from nodes.build.builder import _build as build_with
from nodes.index.index_dir import read_metadata
from tests.nodes.helpers import lookup, read_raw

HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=21,length=46709983>",
    '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele frequency">',
    '##INFO=<ID=AF_NO,Number=A,Type=Float,Description="Allele frequency, born in Norway">',
    '##INFO=<ID=AF_NO_F,Number=A,Type=Float,Description="Allele frequency, Norway, female">',
    '##INFO=<ID=AC_SE,Number=A,Type=Integer,Description="Allele count, born in Sweden">',
    '##INFO=<ID=AN_SE,Number=1,Type=Integer,Description="Allele number, born in Sweden">',
    '##INFO=<ID=AF_SE,Number=A,Type=Float,Description="Allele frequency, born in Sweden">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
]
#: (pos, ref, alts, INFO): what the test expects is read off these by hand below.
LINES = [
    (
        10_000_000,
        "A",
        "C,T",
        "AF=0.25,0.125;AF_NO=0.5,0;AF_NO_F=.,.;AC_SE=3,1;AN_SE=40;AF_SE=0.075,0.025",
    ),
    (10_000_100, "G", "A", "AF=0.001"),
]
COUNT_FIELDS = ("allele_count", "allele_number", "homozygous_count", "heterozygous_count")


def _write(tmp_path):
    path = tmp_path / "gdi-af.vcf"
    body = [f"21\t{pos}\t.\t{ref}\t{alts}\t.\tPASS\t{info}" for pos, ref, alts, info in LINES]
    path.write_text("\n".join([*HEADER, *body]) + "\n")
    return path


def test_frequencies_are_stored_and_served_with_counts_absent(tmp_path):
    vcf = _write(tmp_path)
    stored = []
    for fast in (True, False):
        out = tmp_path / f"index-{fast}"
        build_with(BuildOptions(inputs=[vcf], dataset_id="no-af", out=out), fast_text=fast)
        stored.append(read_raw(out))
        meta = read_metadata(out)
        assert meta.info_convention == "gdi-frequencies"
        assert meta.convention["groups"]["total"] == {"af": "AF"}
        assert meta.convention["groups"]["SE"] == {"ac": "AC_SE", "an": "AN_SE"}
        assert meta.sample_count == 0  # unknown: no AN anywhere in the total
        want = {
            (10_000_000, "C"): {"": 0.25, "NO": 0.5, "SE": (3, 40)},
            (10_000_000, "T"): {"": 0.125, "NO": 0.0, "SE": (1, 40)},
            (10_000_100, "A"): {"": 0.001},
        }
        for (pos, alt), rows in want.items():
            ref = "A" if pos == 10_000_000 else "G"
            freq = lookup(out, "21", pos, ref, alt)
            got = {"": freq.counts, **{p.population: p.counts for p in freq.populations}}
            assert set(got) == set(rows)  # NO_F is "." here: absent, not 0
            for label, expected in rows.items():
                counts = got[label]
                if isinstance(expected, tuple):
                    assert (counts.allele_count, counts.allele_number) == expected
                    continue
                assert not any(counts.HasField(f) for f in COUNT_FIELDS), (pos, alt, label)
                assert counts.allele_frequency == pytest.approx(expected)
    assert stored[0] == stored[1]


def test_a_total_frequency_of_dot_is_an_error(tmp_path):
    vcf = _write(tmp_path)
    vcf.write_text(vcf.read_text() + "21\t10000200\t.\tC\tG\t.\tPASS\tAF=.\n")
    with pytest.raises(IndexBuildError, match=r"record 21:10000200: AF is missing"):
        build_with(BuildOptions(inputs=[vcf], dataset_id="d", out=tmp_path / "i"), fast_text=True)


def test_pooling_skips_a_frequency_without_counts_and_says_so():
    exact = allele_pb2.COUNT_PRECISION_EXACT
    counted = allele_pb2.AlleleCounts(
        allele_count=3,
        allele_number=40,
        homozygous_count=0,
        allele_frequency=0.075,
        precision=exact,
    )
    other = allele_pb2.AlleleCounts(
        allele_count=1,
        allele_number=60,
        homozygous_count=1,
        allele_frequency=1 / 60,
        precision=exact,
    )
    af_only = allele_pb2.AlleleCounts(allele_frequency=0.25, precision=exact)
    pooled = pool_counts([counted, af_only, other])
    # Summed over the datasets with counts; the AF-only one neither added nor poisoning.
    assert (pooled.allele_count, pooled.allele_number, pooled.homozygous_count) == (4, 100, 1)
    assert pooled.allele_frequency == pytest.approx(0.04)
    assert pooled.precision == allele_pb2.COUNT_PRECISION_ROUNDED
    assert is_lower_bound([counted, af_only, other])
    assert not is_lower_bound([counted, other])
    # Only frequencies: nothing to sum, so no counts (and no invented frequency).
    alone = pool_counts([af_only, af_only])
    assert not any(alone.HasField(f) for f in (*COUNT_FIELDS, "allele_frequency"))
    assert alone.precision == exact
