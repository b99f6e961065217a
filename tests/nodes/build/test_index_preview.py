"""``allelemesh index preview``: what a file yields, without writing; the build's summary.

The VCF is written here line by line (GDI names: ``AC_<L>``/``AN_<L>`` for NO, FR, M, F;
both partitions of the total complete), and every expected number is worked out in this
file from the rows it wrote: records, alleles, skips by reason, the problems' line
numbers, and what a node may release under two policies (two-tailed floors; in a
partition of two cells whose total is released, a withheld cell takes the other one
with it; ``collapse``; rounding half up; ``min_population_size``), never by allelemesh.
The CLI runs as a real subprocess for the exit codes, the JSON and the no-write checks.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from mesh.disclosure import POLICY_VERSION

LABELS = ("NO", "FR", "M", "F")
PARTITIONS = (("M", "F"), ("NO", "FR"))
HEADER = [
    "##fileformat=VCFv4.2",
    "##contig=<ID=1,length=248956422>",
    *(
        f'##INFO=<ID={key}{s},Number={n},Type=Integer,Description="{key}{s}">'
        for s in ["", *(f"_{label}" for label in LABELS)]
        for key, n in (("AC", "A"), ("AN", "1"))
    ),
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
]
#: (pos, alt, total (AC, AN), populations {label: (AC, AN)}); all exact, one ALT each.
VARIANTS: list[tuple[int, str, tuple[int, int], dict[str, tuple[int, int]]]] = [
    # issue 20's example: F and FR under the floor, M and NO would give them back
    (100, "C", (43, 2000), {"M": (41, 1000), "F": (2, 1000), "NO": (40, 1000), "FR": (3, 1000)}),
    # nothing under any floor
    (
        200,
        "G",
        (400, 2000),
        {"M": (203, 1000), "F": (197, 1000), "NO": (255, 1000), "FR": (145, 1000)},
    ),
    (300, "T", (2, 2000), {}),  # a rare total
    (400, "T", (1998, 2000), {}),  # AN - AC = 2: as rare as AC = 2
    (500, "G", (100, 2000), {"M": (56, 1000), "F": (44, 1000), "NO": (97, 1000), "FR": (3, 1000)}),
    # FR has 100 samples: under a min_population_size of 150
    (
        600,
        "C",
        (500, 2000),
        {"M": (250, 1000), "F": (250, 1000), "NO": (480, 1800), "FR": (20, 200)},
    ),
]


def _info(total: tuple[int, int], rows: dict[str, tuple[int, int]], an_text: str = "") -> str:
    parts = [f"AC={total[0]}", f"AN={an_text or total[1]}"]
    for label, (ac, an) in rows.items():
        parts += [f"AC_{label}={ac}", f"AN_{label}={an}"]
    return ";".join(parts)


def write_vcf(path: Path) -> dict[str, object]:
    """Write the test file; return what a reader of it should count (worked out here)."""
    lines = list(HEADER)
    data: list[str] = []
    for pos, alt, total, rows in VARIANTS:
        # the 200 line writes AN as "+2000": the fast reader hands it to pysam
        an_text = "+2000" if pos == 200 else ""
        data.append(f"1\t{pos}\t.\tA\t{alt}\t.\tPASS\t{_info(total, rows, an_text)}")
    data.insert(2, "1\t250\t.\tA\t<DEL>\t.\tPASS\tAC=4;AN=2000")  # symbolic: skipped
    data.insert(4, "1\t350\t.\tA\tG\t.\tPASS\tAC=4,5;AN=2000")  # 2 ACs for 1 ALT: invalid
    data.insert(6, "1\t450\t.\tA\tC\t.\tPASS\tAC=2500;AN=2000")  # AC > AN: invalid
    data.append(data[-1])  # the last variant again: a duplicate
    lines += data
    path.write_text("\n".join(lines) + "\n")
    first_data_line = len(HEADER) + 1
    bad = [i for i, line in enumerate(data) if "\t350\t" in line or "\t450\t" in line]
    return {
        "records": len(data),
        "alleles": len(data) - 1 - len(bad),  # every line has one ALT; the <DEL> is not one
        "variants": len(VARIANTS),
        "invalid": len(bad),
        "symbolic": 1,
        "duplicate": 1,
        "problem_lines": [first_data_line + i for i in bad],
        "problem_records": ["1:350", "1:450"],
    }


# ------------------------------------------------------------- the release, worked out here


def _meets(count: int, floor: int) -> bool:
    return count == 0 or count >= floor


def expected_disclosure(
    allele_floor: int, collapse: bool, round_to: int, min_population_size: int
) -> dict[str, int | None]:
    """What a node may release of :data:`VARIANTS`, by the issue's rules, counted."""
    got = dict.fromkeys(
        (
            "variants",
            "population_rows",
            "totals_withheld_by_floor",
            "population_rows_too_small",
            "population_rows_withheld_by_floor",
            "population_rows_withheld_complementary",
            "variants_collapsed",
            "population_rows_collapsed",
            "rows_rounded",
        ),
        0,
    )
    smallest: int | None = None
    for _pos, _alt, total, rows in VARIANTS:
        got["variants"] += 1
        got["population_rows"] += len(rows)
        kept = {k: v for k, v in rows.items() if v[1] // 2 >= min_population_size}
        got["population_rows_too_small"] += len(rows) - len(kept)

        def under(ac: int, an: int) -> bool:
            return not (_meets(ac, allele_floor) and _meets(an - ac, allele_floor))

        total_out = under(*total)
        got["totals_withheld_by_floor"] += total_out
        floored = {k for k, v in kept.items() if under(*v)}
        got["population_rows_withheld_by_floor"] += len(floored)
        withheld = set(floored)
        if floored and collapse:
            got["variants_collapsed"] += 1
            got["population_rows_collapsed"] += len(kept) - len(floored)
            withheld = set(kept)
        elif not total_out:
            for cells in PARTITIONS:  # both cells present here: the total gives one back
                if len(floored & set(cells)) == 1 and set(cells) <= set(kept):
                    withheld |= set(cells)
            got["population_rows_withheld_complementary"] += len(withheld - floored)
        released = [] if total_out else [total]
        released += [v for k, v in kept.items() if k not in withheld]
        for raw_ac, raw_an in released:
            ac, an = raw_ac, raw_an
            if round_to > 1:
                ac, an = ((x + round_to // 2) // round_to * round_to for x in (ac, an))
                got["rows_rounded"] += 1
            for count in (ac, an - ac):
                if count and (smallest is None or count < smallest):
                    smallest = count
    return {**got, "smallest_released_count": smallest}


SUPPRESS = {"min_allele_count": 5}
COLLAPSE = {
    "min_individuals": 3,
    "on_suppression": "collapse",
    "round_counts_to": 10,
    "min_population_size": 150,
}


def _policy_file(path: Path, settings: dict[str, object]) -> Path:
    lines = [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _cli(*args: object, cwd: Path | None = None, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return subprocess.run(
        [sys.executable, "-m", "mesh", "index", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
        check=False,
    )


def _preview_json(*args: object) -> dict:  # type: ignore[type-arg]
    result = _cli("preview", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------- tests


def test_preview_counts_what_the_file_holds(tmp_path: Path) -> None:
    vcf = tmp_path / "gdi.vcf"
    expected = write_vcf(vcf)
    data = _preview_json(vcf)
    assert data["summary_version"] == 1
    assert data["sample_records_per_file"] == 10_000
    (file,) = data["files"]
    assert file["convention"]["name"] == "gdi"
    assert file["convention"]["reasons"]  # why: non-empty words
    assert file["assembly_check"] == {"contigs_matched": 1}
    assert file["populations"] == ["FR", "NO"]
    assert file["sexes"] == ["F", "M"]
    fields = {g["label"]: g["fields"] for g in file["groups"]}
    assert fields["Total"] == {"ac": "AC", "an": "AN"}
    assert fields == {
        "Total": {"ac": "AC", "an": "AN"},
        **{label: {"ac": f"AC_{label}", "an": f"AN_{label}"} for label in LABELS},
    }
    assert data["records"] == expected["records"]
    assert data["alleles"] == expected["alleles"]
    assert data["variants"] == expected["variants"]
    assert file["skipped"]["by_kind"] == {"symbolic": 1}
    assert data["skipped"] == {
        "invalid": expected["invalid"],
        "symbolic": expected["symbolic"],
        "duplicate": expected["duplicate"],
    }
    problems = file["problems"]
    assert [p["line"] for p in problems] == expected["problem_lines"]
    assert [p["record"] for p in problems] == expected["problem_records"]
    assert "2 values" in problems[0]["message"]
    assert "2500" in problems[1]["message"]
    assert data["disclosure"] is None  # no policy given


@pytest.mark.parametrize("settings", [SUPPRESS, COLLAPSE], ids=["suppress", "collapse"])
def test_preview_disclosure_against_the_rules_worked_out_here(
    tmp_path: Path, settings: dict[str, object]
) -> None:
    vcf = tmp_path / "gdi.vcf"
    write_vcf(vcf)
    policy = _policy_file(tmp_path / "dataset.toml", settings)
    disclosure = _preview_json(vcf, "--policy", policy)["disclosure"]
    floor = max(
        int(settings.get("min_allele_count", 0)), 2 * int(settings.get("min_individuals", 0)) - 1
    )  # type: ignore[call-overload]
    expected = expected_disclosure(
        floor,
        settings.get("on_suppression") == "collapse",
        int(settings.get("round_counts_to", 0)),  # type: ignore[call-overload]
        int(settings.get("min_population_size", 0)),  # type: ignore[call-overload]
    )
    assert disclosure["policy_version"] == POLICY_VERSION
    assert disclosure["policy"]["allele_floor"] == floor
    assert {k: disclosure[k] for k in expected} == expected
    assert disclosure["totals_withheld_unknown_counts"] == 0


def test_preview_text_names_the_problems_and_the_suppressions(tmp_path: Path) -> None:
    vcf = tmp_path / "gdi.vcf"
    expected = write_vcf(vcf)
    policy = _policy_file(tmp_path / "dataset.toml", SUPPRESS)
    result = _cli("preview", vcf, "--policy", policy)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for line in expected["problem_lines"]:  # type: ignore[attr-defined]
        assert f"problem at line {line} " in out
    assert "convention gdi:" in out
    assert "populations: FR, NO" in out
    assert "sexes: F, M" in out
    assert "3 withheld by the floor, 3 more by complementary suppression" in out
    assert "smallest released count: 20 " in out


def test_preview_writes_nothing(tmp_path: Path) -> None:
    """Read-only input folder and working folder, and an audit hook that fails any open
    for writing (or folder made) by the preview process."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    vcf = inputs / "gdi.vcf"
    write_vcf(vcf)
    policy = _policy_file(inputs / "dataset.toml", SUPPRESS)
    work = tmp_path / "work"
    work.mkdir()
    before = sorted(p.name for p in inputs.iterdir()), sorted(work.iterdir())
    hook = (
        "import os, sys\n"
        "W = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC\n"
        "def hook(event, args):\n"
        "    if event == 'open':\n"
        "        path, mode, flags = args\n"
        "        if (mode and set(str(mode)) & set('wax+')) or (flags or 0) & W:\n"
        "            if str(path) != '/dev/null':\n"
        "                raise SystemExit(f'wrote {path}')\n"
        "    elif event in ('os.mkdir', 'os.rename', 'os.remove', 'shutil.copyfile'):\n"
        "        raise SystemExit(f'{event} {args[0]}')\n"
        "sys.addaudithook(hook)\n"
        "from mesh.cli import main\n"
        "sys.argv = ['allelemesh', *sys.argv[1:]]\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(work)}
    for folder in (inputs, work):
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        for extra in ([], ["--all"], ["--json"]):
            result = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    hook,
                    "index",
                    "preview",
                    str(vcf),
                    "--policy",
                    str(policy),
                    *extra,
                ],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=work,
                env=env,
                check=False,
            )
            assert result.returncode == 0, result.stdout + result.stderr
            assert "invalid" in result.stdout  # it did read the file
    finally:
        for folder in (inputs, work):
            folder.chmod(stat.S_IRWXU)
    assert (sorted(p.name for p in inputs.iterdir()), sorted(work.iterdir())) == before


def test_build_prints_the_preview_of_every_record_and_records_the_policy_version(
    tmp_path: Path,
) -> None:
    vcf = tmp_path / "gdi.vcf"
    write_vcf(vcf)
    policy = _policy_file(tmp_path / "dataset.toml", COLLAPSE)
    out = tmp_path / "idx"
    build = _cli(
        "build", vcf, "--dataset", "no-a", "--out", out, "--on-error", "skip", "--policy", policy
    )
    assert build.returncode == 0, build.stderr
    preview = _cli("preview", vcf, "--all", "--policy", policy)
    assert preview.returncode == 0, preview.stderr
    built_summary = build.stdout.splitlines()[:-1]  # then the "built ..." line
    assert built_summary == preview.stdout.splitlines()
    assert build.stdout.splitlines()[-1].startswith(f"built {out}")

    info = _cli("info", out, "--json")
    assert info.returncode == 0, info.stderr
    check = json.loads(info.stdout)["disclosure_check"]
    assert check["policy_version"] == POLICY_VERSION
    assert check["policy"]["on_suppression"] == "collapse"
    preview_json = _preview_json(vcf, "--all", "--policy", policy)
    assert check == preview_json["disclosure"]
    text = _cli("info", out, env={**os.environ, "COLUMNS": "400"})
    row = next(line for line in text.stdout.splitlines() if "disclosure_check" in line)
    assert f"policy version {POLICY_VERSION}: " in row
    assert "min_individuals=3" in row


def test_build_without_policy_records_no_check(tmp_path: Path) -> None:
    vcf = tmp_path / "gdi.vcf"
    write_vcf(vcf)
    out = tmp_path / "idx"
    build = _cli("build", vcf, "--dataset", "no-a", "--out", out, "--on-error", "skip")
    assert build.returncode == 0, build.stderr
    assert "disclosure: no policy given" in build.stdout
    info = _cli("info", out, "--json")
    assert json.loads(info.stdout)["disclosure_check"] == {}
    assert "not checked" in _cli("info", out, env={**os.environ, "COLUMNS": "400"}).stdout


def test_sample_reads_only_the_first_records(tmp_path: Path) -> None:
    """Without --all, 10,000 records; with it, all (the count is the file's)."""
    vcf = tmp_path / "many.vcf"
    lines = list(HEADER)
    lines += [f"1\t{1000 + i}\t.\tA\tC\t.\tPASS\tAC=10;AN=2000" for i in range(10_500)]
    vcf.write_text("\n".join(lines) + "\n")
    assert _preview_json(vcf)["records"] == 10_000
    assert _preview_json(vcf, "--all")["records"] == 10_500


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    missing = _cli("preview", tmp_path / "nope.vcf")
    assert missing.returncode == 1
    assert "nope.vcf" in missing.stderr
    garbage = tmp_path / "garbage.vcf"
    garbage.write_bytes(b"\x00\x01 not a vcf\n")
    bad = _cli("preview", garbage)
    assert bad.returncode == 1
    assert "garbage.vcf" in bad.stderr
    vcf = tmp_path / "gdi.vcf"
    write_vcf(vcf)
    policy = _policy_file(tmp_path / "dataset.toml", {"min_alele_count": 5})
    wrong = _cli("preview", vcf, "--policy", policy)
    assert wrong.returncode == 1
    assert "min_alele_count" in wrong.stderr
    for result in (missing, bad, wrong):
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("error: ")
