"""Promotion staging -> production without rebuilding: the CLI as an operator runs it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mesh.cli import main
from tests.vcf_factory import GroupCounts, SiteRecord, write_sites_vcf


def _digest(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.resolve().iterdir())
    }


def _info(index: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["index", "info", str(index), "--json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_promote_records_beside_the_immutable_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = SiteRecord("1", 2000, "C", ["T"], GroupCounts(100, [3], [0]))
    vcf = write_sites_vcf(tmp_path / "s.vcf", [record], bgzip=True)
    index = tmp_path / "ds"
    build = ["index", "build", str(vcf), "--dataset", "ds", "--out", str(index)]
    assert main([*build, "--tier", "staging"]) == 0
    built = _info(index, capsys)
    assert built["built_tier"] == "staging"
    assert built["tier"] == "staging"
    assert built["promotions"] == []
    before = _digest(index)

    assert main(["index", "promote", str(index), "--to-tier", "production"]) == 0
    assert "from staging to production" in capsys.readouterr().out
    promoted = _info(index, capsys)
    assert promoted["tier"] == "production"
    assert promoted["built_tier"] == "staging"  # where it was built stays recorded
    [step] = promoted["promotions"]  # type: ignore[misc]
    assert step["from_tier"] == "staging"
    assert step["tier"] == "production"
    assert step["promoted_at"].endswith(("Z", "+00:00"))
    assert _digest(index) == before  # not a byte of the index changed
    assert (index.resolve().parent / f"{index.resolve().name}.tiers.json").exists()

    assert main(["index", "promote", str(index), "--to-tier", "production"]) == 1
    assert "already in tier 'production'" in capsys.readouterr().err

    assert main([*build, "--tier", "staging"]) == 0  # a rebuild starts unpromoted
    rebuilt = _info(index, capsys)
    assert rebuilt["tier"] == "staging"
    assert rebuilt["promotions"] == []


def test_bad_tier_names_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = SiteRecord("1", 2000, "C", ["T"], GroupCounts(100, [3], [0]))
    vcf = write_sites_vcf(tmp_path / "s.vcf", [record], bgzip=True)
    index = tmp_path / "ds"
    assert main(["index", "build", str(vcf), "--dataset", "ds", "--out", str(index)]) == 0
    assert _info(index, capsys)["tier"] == "unrecorded"
    assert main(["index", "promote", str(index), "--to-tier", "Prod uction"]) == 2
    assert "--to-tier" in capsys.readouterr().err
