"""gnomAD v4.1's per-variant grpmax/faf95 carried through as ``VariantFrequency.extras``.

The file is written in the v4.1 joint release's style (every set's counts, then each
set's ``grpmax_<set>``, ``AC_grpmax_<set>``, ``AN_grpmax_<set>``, ``AF_grpmax_<set>``,
``nhomalt_grpmax_<set>``, ``fafmax_faf95_max_<set>``, ``fafmax_faf95_max_gen_anc_<set>``,
``faf95_<set>`` and ``faf95_<set>_<g>``). The test draws the values, so what each
lookup must carry is known here: the chosen set's, as written, never another set's. A
file without them stores values byte for byte as before (the extras cost it nothing).
"""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import pysam
import pytest

from mesh.errors import IndexBuildError
from mesh.v1 import allele_pb2
from nodes.build.builder import BuildOptions, build_index
from tests.nodes.helpers import lookup, read_raw

SETS = ("joint", "exomes")
GROUPS = ("afr", "nfe")


def _info(key: str, number: str, kind: str) -> str:
    return f'##INFO=<ID={key},Number={number},Type={kind},Description="{key}">'


def _write(tmp: Path, *, extras: bool) -> tuple[Path, dict[tuple[int, str, str], dict]]:
    rng = random.Random(15)
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=248956422>"]
    for s in SETS:
        lines += [_info(f"AC_{s}", "A", "Integer"), _info(f"AN_{s}", "1", "Integer")]
        lines += [_info(f"AF_{s}", "A", "Float"), _info(f"nhomalt_{s}", "A", "Integer")]
        if extras:
            lines += [_info(f"grpmax_{s}", "A", "String"), _info(f"AC_grpmax_{s}", "A", "Integer")]
            lines += [_info(f"AN_grpmax_{s}", "A", "Integer")]
            lines += [_info(f"AF_grpmax_{s}", "A", "Float")]
            lines += [_info(f"nhomalt_grpmax_{s}", "A", "Integer")]
            lines += [_info(f"fafmax_faf95_max_{s}", "A", "Float")]
            lines += [_info(f"fafmax_faf95_max_gen_anc_{s}", "A", "String")]
            lines += [_info(f"faf95_{s}", "A", "Float")]
            lines += [_info(f"faf95_{s}_{g}", "A", "Float") for g in GROUPS]
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    want: dict[tuple[int, str, str], dict] = {}
    for i in range(12):
        pos, ref, alts = 500_000 + 97 * i, "A", ["G", "T"] if i % 3 == 0 else ["C"]
        info: list[str] = []
        for s in SETS:
            an = 2 * rng.randint(500, 4000)
            acs = [rng.randint(1, an // 8) for _ in alts]
            info += [f"AC_{s}={','.join(map(str, acs))}", f"AN_{s}={an}"]
            info += [f"AF_{s}={','.join(f'{ac / an:.5g}' for ac in acs)}"]
            info += [f"nhomalt_{s}={','.join('0' for _ in alts)}"]
            if not extras:
                continue
            rows = []
            for _alt in alts:
                row = {
                    "grpmax_group": rng.choice(GROUPS),
                    "grpmax_allele_count": rng.randint(1, 50),
                    "grpmax_allele_number": 2 * rng.randint(100, 900),
                    "grpmax_homozygous_count": rng.randint(0, 3),
                    "faf95_max": round(rng.uniform(1e-5, 1e-2), 6),
                    "faf95_max_group": rng.choice(GROUPS),
                    "faf95": {g: round(rng.uniform(1e-5, 1e-2), 6) for g in ("", *GROUPS)},
                }
                row["grpmax_allele_frequency"] = round(
                    row["grpmax_allele_count"] / row["grpmax_allele_number"], 6
                )
                rows.append(row)
            if i == 4:  # "." for one allele's grpmax: absent there, not a 0
                rows[0]["grpmax_allele_count"] = None

            def join(name: str, rows: list[dict] = rows) -> str:
                return ",".join("." if r[name] is None else str(r[name]) for r in rows)

            info += [f"grpmax_{s}={join('grpmax_group')}"]
            info += [f"AC_grpmax_{s}={join('grpmax_allele_count')}"]
            info += [f"AN_grpmax_{s}={join('grpmax_allele_number')}"]
            info += [f"AF_grpmax_{s}={join('grpmax_allele_frequency')}"]
            info += [f"nhomalt_grpmax_{s}={join('grpmax_homozygous_count')}"]
            info += [f"fafmax_faf95_max_{s}={join('faf95_max')}"]
            info += [f"fafmax_faf95_max_gen_anc_{s}={join('faf95_max_group')}"]
            for g in ("", *GROUPS):
                key = f"faf95_{s}_{g}" if g else f"faf95_{s}"
                info += [f"{key}={','.join(str(r['faf95'][g]) for r in rows)}"]
            for alt, row in zip(alts, rows, strict=True):
                want.setdefault((pos, ref, alt), {})[s] = row
        lines.append(f"chr1\t{pos}\t.\t{ref}\t{','.join(alts)}\t.\tPASS\t{';'.join(info)}")
    path = tmp / f"gnomad.joint.v4.1.{'x' if extras else 'plain'}.vcf"
    path.write_text("\n".join(lines) + "\n")
    return Path(pysam.tabix_index(str(path), preset="vcf", force=True)), want


def _as_dict(extras: allele_pb2.FrequencyExtras) -> dict:
    names = [f.name for f in allele_pb2.FrequencyExtras.DESCRIPTOR.fields if f.name != "faf95"]
    got = {n: getattr(extras, n) if extras.HasField(n) else None for n in names}
    return {**got, "faf95": dict(extras.faf95)}


@pytest.mark.parametrize("subset", ["", "exomes"])
def test_the_chosen_sets_grpmax_and_faf95_are_served_as_written(tmp_path, subset):
    vcf, want = _write(tmp_path, extras=True)
    out = tmp_path / f"index-{subset or 'default'}"
    build_index(BuildOptions(inputs=[vcf], dataset_id="gnomad", out=out, subset=subset))
    chosen = subset or "joint"
    assert len(want) == 16
    for (pos, ref, alt), sets in want.items():
        freq = lookup(out, "1", pos, ref, alt)
        got = _as_dict(freq.extras)
        expected = sets[chosen]
        for name, value in expected.items():
            if isinstance(value, float):
                assert got[name] == pytest.approx(value), (pos, alt, name)
            elif name == "faf95":
                assert got[name] == pytest.approx(value), (pos, alt)
            else:
                assert got[name] == value, (pos, alt, name)


def test_a_file_without_extras_stores_no_extras_bytes(tmp_path):
    plain, _ = _write(tmp_path, extras=False)
    out = tmp_path / "plain"
    build_index(BuildOptions(inputs=[plain], dataset_id="gnomad", out=out))
    values = read_raw(out)
    assert values
    for value in values.values():
        frequency = allele_pb2.VariantFrequency.FromString(
            lookup_value(out, value).SerializeToString()
        )
        assert not frequency.HasField("extras")
    # the fast text path read it (the extras path is pysam's): same bytes either way
    from nodes.build.builder import _build

    slow = tmp_path / "plain-slow"
    _build(BuildOptions(inputs=[plain], dataset_id="gnomad", out=slow), fast_text=False)
    assert read_raw(slow) == values


def lookup_value(out: Path, value: bytes) -> allele_pb2.VariantFrequency:
    from tests.nodes.helpers import codec_of

    return codec_of(out).decode_frequency(value)


def test_the_keys_read_for_each_set_of_a_header():
    """gnomAD v4.1's names: suffixed per set in joint files, bare in a one-set file."""
    from nodes.build._extras import extras_reader

    joint = [f"{k}_joint" for k in ("grpmax", "AC_grpmax", "fafmax_faf95_max", "faf95")]
    joint += ["faf95_joint_afr", "faf95_joint_nfe", "faf95_exomes_afr", "grpmax_exomes"]
    reader = extras_reader(joint, "joint")
    assert reader is not None
    assert reader.scalars == {
        "grpmax_group": "grpmax_joint",
        "grpmax_allele_count": "AC_grpmax_joint",
        "faf95_max": "fafmax_faf95_max_joint",
    }
    assert reader.faf95 == {"": "faf95_joint", "afr": "faf95_joint_afr", "nfe": "faf95_joint_nfe"}
    single = [
        "grpmax",
        "AF_grpmax",
        "fafmax_faf95_max_gen_anc",
        "faf95",
        "faf95_sas",
        "faf95_popmax",
    ]
    reader = extras_reader(single, "")
    assert reader is not None
    assert set(reader.scalars.values()) == {"grpmax", "AF_grpmax", "fafmax_faf95_max_gen_anc"}
    assert reader.faf95 == {"": "faf95", "sas": "faf95_sas"}
    assert extras_reader(["AC", "AN", "nhomalt"], "") is None


def _with_short_array(tmp_path: Path) -> Path:
    """The extras file with one two-ALT record's ``AC_grpmax_joint`` cut to one value."""
    vcf, _ = _write(tmp_path, extras=True)
    with gzip.open(vcf, "rt") as handle:
        lines = handle.read().splitlines()
    record = next(i for i, line in enumerate(lines) if "\tG,T\t" in line)
    assert lines[record].startswith("chr1\t500000\t")
    lines[record] = re.sub(r"AC_grpmax_joint=(\d+),\d+", r"AC_grpmax_joint=\1", lines[record])
    path = tmp_path / "short.vcf"
    path.write_text("\n".join(lines) + "\n")
    return Path(pysam.tabix_index(str(path), preset="vcf", force=True))


def test_an_extras_array_not_one_per_alt_is_refused_naming_the_record(tmp_path):
    vcf = _with_short_array(tmp_path)
    with pytest.raises(IndexBuildError) as info:
        build_index(BuildOptions(inputs=[vcf], dataset_id="g", out=tmp_path / "index"))
    message = str(info.value)
    assert "chr1:500000" in message
    assert "AC_grpmax_joint has 1 values but ALT has 2 alleles" in message
    # Skipped and counted with --on-error skip; the other records keep their extras.
    report = build_index(
        BuildOptions(inputs=[vcf], dataset_id="g", out=tmp_path / "skip", on_error="skip")
    )
    assert report.skipped["invalid"] == 1
    assert report.variant_count == 16 - 2
    assert lookup(tmp_path / "skip", "1", 500_097, "A", "C").HasField("extras")
    with pytest.raises(KeyError):
        lookup(tmp_path / "skip", "1", 500_000, "A", "G")
