"""``allelemesh query rs…`` (its own process) against a gateway over three real nodes.

Which variants the id names and every count come from the VCFs the test wrote
(``tests.variant_id_world``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from tests.mesh_harness import running_mesh
from tests.variant_id_world import build_world, expected_rows, expected_variants


async def _query(port: int, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mesh", "query", *args, "--target", f"127.0.0.1:{port}",
        "--insecure",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def _name(v: tuple[str, int, str, str]) -> str:
    return "-".join(str(x) for x in v)


async def test_query_an_rsid(tmp_path: Path) -> None:
    specs, records = build_world(tmp_path)
    async with running_mesh(specs) as mesh:
        port = mesh.client.gateway.port
        code, text, err = await _query(port, "rs200")
        json_code, as_json, _ = await _query(port, "RS400", "--json")
        old_code, old, _ = await _query(port, "rs800")
        bad_code, _, bad = await _query(port, "rs80x0")
    assert code == 0, err
    wanted = expected_variants(records, "rs200")
    assert len(wanted) == 2
    assert f"rs200 names 2 variants: {_name(wanted[0])}, {_name(wanted[1])}" in text
    for variant in wanted:
        assert f"rs200 → {_name(variant)}" in text  # each variant its own, labelled table
        section = text.split(f"rs200 → {_name(variant)}")[1]
        for dataset_id, (ac, an, *_rest) in expected_rows(records, variant).items():
            row = next(line for line in section.splitlines() if f" {dataset_id} " in line)
            assert f" {ac} " in row
            assert f" {an} " in row
    assert json_code == 0
    body = json.loads(as_json)
    assert body["variant_id"] == "rs400"
    got = [tuple(r["variant"].values()) for r in body["results"]]
    assert [(c, int(p), r, a) for c, p, r, a in got] == expected_variants(records, "rs400")
    for result in body["results"]:
        v = result["variant"]
        key = (v["chromosome"], int(v["position"]), v["reference_bases"], v["alternate_bases"])
        rows = expected_rows(records, key)
        assert {
            f["dataset_id"]: int(f["counts"]["allele_count"]) for f in result["frequencies"]
        } == {d: r[0] for d, r in rows.items()}
    assert old_code == 0
    assert "rs800: no dataset of the nodes that answered records it" in old
    assert "rebuild" in old
    assert "lu-old" in old
    assert bad_code != 0
    assert "rs80x0" in bad
