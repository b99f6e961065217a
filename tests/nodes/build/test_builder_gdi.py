"""GDI country files (GDI's VCF-to-node writer convention) and count presence in the index."""

from __future__ import annotations

import json

import pytest

from mesh.errors import IndexStoreError
from nodes.build.builder import BuildOptions, build_index
from nodes.index.index_dir import read_metadata
from tests.count_helpers import as_tuple
from tests.gdi_vcf import AF_ONLY, cohort, expected_rows, sites, write_gdi_vcf
from tests.nodes.helpers import lookup


def test_gdi_het_hom_hemi_and_frequency_only_labels_are_read_with_presence(tmp_path):
    held = sites(12)
    found = cohort(5, 60, held)
    vcf = write_gdi_vcf(tmp_path / "gdi.vcf", found)
    out = tmp_path / "index"
    build_index(BuildOptions(inputs=[vcf], dataset_id="fr", out=out, source="GoE"))
    meta = read_metadata(out)
    assert meta.info_convention == "gdi"
    assert meta.populations == sorted(["AFR_M", "DE", "F", "FR", "FR_M", "M"])
    assert meta.source == "GoE"
    for site in held:
        freq = lookup(out, "21", site.pos, site.ref, site.alt)
        rows = {"Total": freq.counts, **{p.population: p.counts for p in freq.populations}}
        want = expected_rows(found, site)
        # Every label of the file; DE (AF only) when its AF is not "." (nobody called).
        labels = {label for label in want if label != AF_ONLY}
        assert set(rows) == labels | ({AF_ONLY} if want[AF_ONLY].af is not None else set())
        for label, counts in rows.items():
            row = want[label]
            got = as_tuple(counts)
            # AC_<L>_Het/Hom/Hemi read (a written 0 is a 0); F gives none: absent.
            assert got == (row.ac, row.an, row.hom, row.het, row.hemi), (site, label)
            if row.af is None:
                assert not counts.HasField("allele_frequency")
            else:
                assert counts.allele_frequency == pytest.approx(row.af, rel=1e-6)


def test_an_index_of_the_old_format_is_refused_with_a_rebuild_message(tmp_path):
    (tmp_path / "dataset.json").write_text(json.dumps({"schema_version": 1}))
    with pytest.raises(IndexStoreError, match="rebuild it with `allelemesh index build`"):
        read_metadata(tmp_path)
