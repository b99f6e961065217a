"""``allelemesh query | cat``: tables at full width, every number and id whole."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.mesh_harness import REPO, NodeSpec, running_nodes, write_dataset
from tests.vcf_factory import GroupCounts, SiteRecord

LONG_ID = "de-berlin-national-reference-cohort-2026-release-7"
NODE_ID = "de-berlin-genomics-node-primary-1"


async def test_piped_table_keeps_numbers_and_ids_whole(tmp_path: Path) -> None:
    # AC 7 of AN 113: AF 0.0619469..., printed with 6 significant digits.
    site = SiteRecord("1", 55051215, "G", ["GA"], GroupCounts(an=113, ac=[7], hom=[1]))
    index = write_dataset(tmp_path / "d", LONG_ID, [site])
    async with running_nodes([NodeSpec(NODE_ID, "DE", [index])]) as nodes:
        port = nodes[NODE_ID].port
        command = (
            f"{sys.executable} -m mesh query 1-55051215-G-GA --target 127.0.0.1:{port} "
            "--insecure | cat"
        )
        process = await asyncio.create_subprocess_shell(
            command, cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr
    text = stdout.decode()
    assert "…" not in text
    row = next(line for line in text.splitlines() if LONG_ID in line)
    cells = [cell.strip() for cell in row.strip("│┃ ").split("│")]
    assert cells[:4] == ["1-55051215-G-GA", LONG_ID, NODE_ID, "DE"]
    assert cells[4:7] == ["7", "113", f"{7 / 113:.6g}"]
    assert max(len(line) for line in text.splitlines()) > 80  # wider than rich's default
