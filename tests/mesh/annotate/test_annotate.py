"""``allelemesh annotate`` over a three-node mesh with one node down (real processes).

A 100,000-record VCF goes through the real CLI (its own process) to a real gateway over
two real nodes; the third country's node is not running. Every INFO value is checked
against counts the test computes from the records it wrote; the input records must come
back unchanged (``bcftools view -H`` of the input against the output with the new
fields removed), and the bgzipped output must be tabix-indexed and readable by pysam.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pysam
import pytest

from tests.mesh_harness import (
    NodeSpec,
    expected_totals,
    fast_settings,
    free_port,
    peer_of,
    running_gateway,
    running_mesh,
    running_nodes,
    write_dataset,
)
from tests.vcf_factory import GroupCounts, SiteRecord

pytestmark = pytest.mark.slow

RECORDS = 100_000
COUNTRIES = ("FI", "LU", "NO")  # LU is down
FIELDS = ("AF", "AC", "AN", "HOM")


def _input_records(rng: random.Random) -> list[tuple[str, int, str, list[str]]]:
    rows = []
    for i in range(RECORDS):
        chrom, pos = ("1", 100_000 + 7 * i) if i < 60_000 else ("2", 50_000 + 5 * i)
        ref = rng.choice("ACGT")
        others = [b for b in "ACGT" if b != ref]
        alts = rng.sample(others, 2 if rng.random() < 0.2 else 1)
        if i % 5000 == 17:
            alts = ["<DEL>"]  # not a queryable allele: left without fields
        rows.append((chrom, pos, ref, alts))
    return rows


def _write_input(path: Path, rows: list[tuple[str, int, str, list[str]]]) -> Path:
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=chr1,length=248956422>",
        "##contig=<ID=chr2,length=242193529>",
        '##ALT=<ID=DEL,Description="Deletion">',
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    for i, (chrom, pos, ref, alts) in enumerate(rows):
        lines.append(f"chr{chrom}\t{pos}\trs{i}\t{ref}\t{','.join(alts)}\t50\tPASS\tDP={i % 97}")
    path.write_text("\n".join(lines) + "\n")
    gz = Path(str(path) + ".gz")
    pysam.tabix_compress(str(path), str(gz), force=True)
    pysam.tabix_index(str(gz), preset="vcf", force=True)
    return gz


def _dataset(rng: random.Random, rows: list[tuple[str, int, str, list[str]]]) -> list[SiteRecord]:
    """About a fifth of the input's sites, some ALTs only, with random counts."""
    records = []
    for chrom, pos, ref, alts in rows:
        if alts == ["<DEL>"] or rng.random() > 0.2:
            continue
        kept = alts if rng.random() < 0.7 else alts[:1]
        an = rng.randrange(100, 3000, 2)
        ac = [rng.randrange(2, an // 4) for _ in kept]
        # No zero counts: until every node encodes presence (mesh.model.wire), a 0 reads as absent.
        hom = [rng.randrange(1, a // 2 + 1) if a >= 2 else 0 for a in ac]
        records.append(SiteRecord(chrom, pos, ref, kept, GroupCounts(an=an, ac=ac, hom=hom)))
    return records


def _close(a: float | int | None, b: float | int | None) -> bool:
    if a is None or b is None:
        return a is b
    if isinstance(b, int):
        return a == b and isinstance(a, int)
    return abs(a - b) <= 1e-5 * abs(b)  # AF: a VCF Float written with 6 significant digits


async def test_annotate_a_large_vcf_over_a_mesh_with_a_node_down(tmp_path: Path) -> None:
    rng = random.Random(14)
    rows = _input_records(rng)
    source = _write_input(tmp_path / "in.vcf", rows)
    expected: dict[str, dict[tuple[str, int, str, str], tuple[int, int, int, int, int]]] = {}
    indexes = {}
    for country in ("FI", "NO"):
        records = _dataset(rng, rows)
        indexes[country] = write_dataset(tmp_path / country, f"{country.lower()}-ds", records)
        expected[country] = expected_totals(records)
    out = tmp_path / "out.vcf.gz"
    specs = [NodeSpec(f"{c.lower()}-1", c, [indexes[c]]) for c in ("FI", "NO")]
    async with running_nodes(specs) as nodes:
        peers = [peer_of(s.id, s.country, nodes[s.id].port) for s in specs]
        peers.append(peer_of("lu-1", "LU", free_port()))  # nothing listens there
        async with running_gateway(peers, settings=fast_settings(timeout_s=20.0)) as gw:
            started = time.monotonic()
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "mesh", "annotate", str(source),
                "--target", f"127.0.0.1:{gw.gateway.port}", "--insecure",
                "-o", str(out), "--fields", ",".join(FIELDS), "--batch-size", "2000",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
            )  # fmt: skip
            _stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=600)
            elapsed = time.monotonic() - started
    report = stderr.decode()
    assert process.returncode == 0, report
    print(f"annotate: {RECORDS} records in {elapsed:.1f} s ({RECORDS / elapsed:,.0f}/s)")
    assert "lu-1 (LU)" in report
    assert "FAILED" in report.split("lu-1 (LU)")[1].splitlines()[0]
    assert f"{RECORDS:,} records" in report

    # Readable by pysam through its tabix index.
    assert Path(str(out) + ".tbi").exists()
    with pysam.VariantFile(str(out)) as annotated:
        # 0-based, half-open: POS 350,005 .. 350,050, i.e. records 60,001 .. 60,010
        assert len(list(annotated.fetch("chr2", 50_000 + 5 * 60_000, 50_000 + 5 * 60_010))) == 10
    with pysam.VariantFile(str(out)) as annotated:
        header = annotated.header.info
        for key in (f"{f}_{g}" for f in FIELDS for g in (*COUNTRIES, "MESH")):
            assert key in header, key
            assert header[key].number == "A", key
        checked = 0
        for (chrom, pos, ref, alts), record in zip(rows, annotated, strict=True):
            assert (record.chrom, record.pos, record.ref, list(record.alts)) == (
                f"chr{chrom}",
                pos,
                ref,
                alts,
            )
            assert not any(k.endswith("_LU") for k in record.info), record
            for i, alt in enumerate(alts):
                key = (chrom, pos, ref, alt)
                parts = [expected[c][key] for c in ("FI", "NO") if key in expected[c]]
                for country in ("FI", "NO"):
                    want = expected[country].get(key)
                    got = {f: _get(record, f"{f}_{country}", i) for f in FIELDS}
                    wanted = _fields(want)
                    assert all(_close(got[f], wanted[f]) for f in FIELDS), (got, wanted, country)
                pooled = None
                if parts:
                    # A sum with an unknown part is unknown (hemizygous counts here).
                    pooled = tuple(
                        None if any(p[j] is None for p in parts) else sum(p[j] for p in parts)
                        for j in range(5)
                    )
                got_mesh = {f: _get(record, f"{f}_MESH", i) for f in FIELDS}
                want_mesh = _fields(pooled)
                assert all(_close(got_mesh[f], want_mesh[f]) for f in FIELDS), record
                checked += 1
        assert checked == sum(len(a) for _c, _p, _r, a in rows)

    # Records unchanged: the output without the new fields is the input, line for line.
    added = ",".join(f"INFO/{f}_{g}" for f in FIELDS for g in (*COUNTRIES, "MESH"))
    stripped = subprocess.run(
        f"bcftools annotate -x {added} {out} | bcftools view -H",
        shell=True, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    original = subprocess.run(
        ["bcftools", "view", "-H", str(source)], check=True, capture_output=True, text=True
    ).stdout
    assert stripped == original


def _get(record: pysam.VariantRecord, key: str, i: int) -> float | int | None:
    values = record.info.get(key)
    return None if values is None else values[i]


def _fields(counts: tuple[int | None, ...] | None) -> dict[str, float | int | None]:
    if counts is None:
        return dict.fromkeys(FIELDS)
    ac, an, hom, _het, _hemi = counts
    return {"AF": ac / an, "AC": ac, "AN": an, "HOM": hom}


@pytest.mark.parametrize("tsv", [False, True])
def test_unreachable_target_leaves_fields_missing_and_says_so(tmp_path: Path, tsv: bool) -> None:
    """Not slow: every call fails at once; the records still all come out, unchanged."""
    rows = _input_records(random.Random(3))[:50]
    source = _write_input(tmp_path / "small.vcf", rows)
    command = [
        sys.executable, "-m", "mesh", "annotate", "-", "--target", f"127.0.0.1:{free_port()}",
        "--insecure", "--timeout", "2", "--batch-size", "10", *(["--tsv"] if tsv else []),
    ]  # fmt: skip
    with source.open("rb") as stdin:
        done = subprocess.run(
            command, check=False, stdin=stdin, capture_output=True, text=True, timeout=120
        )
    assert done.returncode == 1, done.stderr
    assert "calls failed entirely" in done.stderr
    assert "UNAVAILABLE" in done.stderr
    lines = [line for line in done.stdout.splitlines() if not line.startswith("#")]
    if tsv:
        assert done.stdout.splitlines()[0].split("\t")[5:] == ["AF_MESH", "AC_MESH", "AN_MESH"]
        assert len(lines) == 1 + sum(len(alts) for *_x, alts in rows)
        assert all(line.endswith("\t.\t.\t.") for line in lines[1:])
    else:
        assert "##INFO=<ID=AF_MESH,Number=A,Type=Float" in done.stdout
        original = subprocess.run(
            ["bcftools", "view", "-H", str(source)], check=True, capture_output=True, text=True
        ).stdout
        assert "\n".join(lines) + "\n" == original


async def test_population_fields_per_country_and_pooled(tmp_path: Path) -> None:
    """``--populations``: per-country cells as written, MESH rows only for shared labels."""
    from tests.gateway.test_pooled_populations import MIN_AC, POS, WRITTEN, FlooredSpec
    from tests.gateway.test_pooled_populations import _index as population_index

    source = tmp_path / "one.vcf"
    source.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1,length=248956422>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"1\t{POS}\t.\tA\tG\t.\t.\t.\n"
    )
    specs = [
        FlooredSpec(
            d[:2] + "-1", c, [population_index(tmp_path, d)], min_allele_count=MIN_AC.get(d, 0)
        )
        for d, (c, _cells) in WRITTEN.items()
    ]
    async with running_mesh(specs) as mesh:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mesh", "annotate", str(source), "--insecure",
            "--target", f"127.0.0.1:{mesh.client.gateway.port}", "--tsv",
            "--fields", "AC,AN", "--populations", "NFE,M,AFR",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    head, line = stdout.decode().splitlines()
    row = dict(zip(head.split("\t"), line.split("\t"), strict=True))
    no, fi = WRITTEN["no-ds"][1], WRITTEN["fi-ds"][1]
    assert (row["AC_NO_AFR"], row["AN_NO_AFR"]) == (str(no["AFR"][1]), str(no["AFR"][0]))
    assert row["AC_FI_AFR"] == "."  # FI has no AFR row: absent, not 0
    assert row["AC_MESH_AFR"] == "."  # one dataset reports AFR: no pooled row
    assert row["AC_LU_NFE"] == "."  # withheld by LU's floor
    # NFE pooled from the released cells only (NO + FI), M from all three.
    assert row["AC_MESH_NFE"] == str(no["NFE"][1] + fi["NFE"][1])
    assert row["AC_MESH_M"] == str(sum(WRITTEN[d][1]["M"][1] for d in WRITTEN))
