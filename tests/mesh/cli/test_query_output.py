"""``allelemesh query`` prints a count the dataset did not give as unknown, never as 0."""

from __future__ import annotations

import io

from mesh.cli.query import print_frequencies
from mesh.v1 import allele_pb2, allele_service_pb2


def test_absent_counts_print_as_unknown_and_zeros_as_zero():
    counts = allele_pb2.AlleleCounts(
        allele_count=7, allele_number=100, allele_frequency=0.07, hemizygous_count=0,
        precision=allele_pb2.COUNT_PRECISION_EXACT,
    )  # fmt: skip
    response = allele_service_pb2.LookupVariantResponse(
        frequencies=[
            allele_pb2.VariantFrequency(
                variant=allele_pb2.Variant(
                    chromosome="21", position=5, reference_bases="A", alternate_bases="T"
                ),
                dataset_id="ds",
                node_id="n",
                country="FR",
                counts=counts,
            )
        ]
    )
    out = io.StringIO()
    print_frequencies(response, out)
    (row,) = [line for line in out.getvalue().splitlines() if "21-5-A-T" in line]
    cells = [c.strip() for c in row.split("│") if c.strip()]
    # AC, AN, AF, hom (not given), het (not given), hemi (a given 0).
    assert cells[-6:] == ["7", "100", "0.07", ".", ".", "0"]
