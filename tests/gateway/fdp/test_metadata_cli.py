"""``allelemesh index build --metadata`` and ``index metadata --set-from | --check``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mesh.cli import main
from nodes.serve.store import DatasetIndex
from tests.gateway.fdp.harness import (
    MANDATORY,
    SAMPLE,
    build,
    sample,
    shapes_dir,
    without,
    write_metadata,
)


def check(capsys: pytest.CaptureFixture[str], index: Path, country: str = "NO") -> tuple[int, str]:
    shapes = str(shapes_dir())
    code = main(
        ["index", "metadata", str(index), "--check", "--country", country, "--shapes", shapes]
    )
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("check"), "no-check", metadata=SAMPLE)


def test_the_sample_metadata_validates_for_any_dataset(tmp_path, capsys):
    for dataset_id, country in (("no-first", "NO"), ("fi.second_2", "FI"), ("LU-3", "LU")):
        out = build(tmp_path, dataset_id, metadata=SAMPLE)
        code, text = check(capsys, out, country)
        assert code == 0, text
        assert "conforms" in text


@pytest.mark.parametrize("dropped", sorted(MANDATORY))
def test_check_names_each_missing_mandatory_field(index, tmp_path, capsys, dropped):
    broken = write_metadata(tmp_path / "broken.toml", without(sample(), dropped))
    assert main(["index", "metadata", str(index), "--set-from", str(broken)]) == 0
    capsys.readouterr()
    code, text = check(capsys, index)
    assert code == 1, text
    lines = [line.strip() for line in text.splitlines()]
    assert any(line.startswith(f"{MANDATORY[dropped]}: missing") for line in lines), text
    assert main(["index", "metadata", str(index), "--set-from", str(SAMPLE)]) == 0
    assert check(capsys, index)[0] == 0


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "access_rights",
            "PRIVATE",
            "access_rights: http://publications.europa.eu/resource/authority/access-right/"
            "PRIVATE is not allowed (one of: ",
        ),
        ("identifier", "dataset-7", "identifier: dataset-7 has the wrong form (Use GOE-CC-ORG"),
        ("health_categories", ["Cancer"], "health_categories: http://data.gdi.eu/core/p2/Cancer"),
        ("status", "FINISHED", "status: http://publications.europa.eu/resource/authority/"),
    ],
)
def test_check_names_wrong_values_and_what_is_allowed(
    index, tmp_path, capsys, key, value, expected
):
    data = sample()
    data[key] = value
    broken = write_metadata(tmp_path / "wrong.toml", data)
    assert main(["index", "metadata", str(index), "--set-from", str(broken)]) == 0
    capsys.readouterr()
    code, text = check(capsys, index)
    assert code == 1
    assert expected in text, text
    assert main(["index", "metadata", str(index), "--set-from", str(SAMPLE)]) == 0


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("publisher", {"name": "x", "email": "not an address"}, "publisher.email"),
        ("homepage", "https://x.example", "homepage: is not a known key"),
        ("themes", ["http://x.example/<bad>"], "themes[0]"),
        ("title", {"english": "x"}, "title.english"),
        ("temporal", {"start": "2020"}, "temporal.start"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_key(index, tmp_path, capsys, key, value, named):
    before = os.readlink(index)
    data = sample()
    data[key] = value
    broken = write_metadata(tmp_path / "malformed.toml", data)
    code = main(["index", "metadata", str(index), "--set-from", str(broken)])
    text = capsys.readouterr().err
    assert code != 0
    assert named in text, text
    assert os.readlink(index) == before  # nothing published


def test_set_from_writes_a_new_version_and_leaves_the_index_immutable(tmp_path, capsys):
    out = build(tmp_path, "no-versions", metadata=SAMPLE)
    old = out.resolve()
    old_files = {p.name: p.read_bytes() for p in old.iterdir()}
    data = sample()
    data["title"] = {"en": "A second title", "nb": "En annen tittel"}
    changed = write_metadata(tmp_path / "m.toml", data)
    assert main(["index", "metadata", str(out), "--set-from", str(changed)]) == 0
    new = out.resolve()
    assert new != old
    assert {p.name: p.read_bytes() for p in old.iterdir()} == old_files  # untouched
    assert (new / "data.mdb").stat().st_ino == (old / "data.mdb").stat().st_ino  # no rebuild
    assert (new / "metadata.toml").stat().st_mode & 0o777 == 0o640  # like the rest of the index
    assert new.stat().st_mode & 0o777 == 0o750
    before, after = (json.loads((v / "dataset.json").read_text()) for v in (old, new))
    assert after["metadata_time"] > before["created_time"]
    assert {k: v for k, v in after.items() if k != "metadata_time"} == {
        k: v for k, v in before.items() if k != "metadata_time"
    }
    index = DatasetIndex(out)
    try:
        assert index.publication is not None
        titles = {(t.language, t.text) for t in index.publication.title}
        assert titles == {("en", "A second title"), ("nb", "En annen tittel")}
        proto = index.metadata.to_proto("no-1", "NO", index.publication)
        assert proto.metadata.modified_time.ToJsonString().startswith(after["metadata_time"][:19])
    finally:
        index.close()


def test_an_index_without_metadata_is_not_publishable(tmp_path, capsys):
    out = build(tmp_path, "no-bare")
    code, text = check(capsys, out)
    assert code == 1
    assert "metadata file: missing" in text


def test_check_needs_the_shapes_and_the_country(index, capsys, monkeypatch):
    monkeypatch.delenv("ALLELEMESH_GDI_SHAPES", raising=False)
    assert main(["index", "metadata", str(index), "--check", "--country", "NO"]) == 2
    assert "--shapes" in capsys.readouterr().err
    assert main(["index", "metadata", str(index), "--check", "--shapes", str(shapes_dir())]) == 2
    assert "--country" in capsys.readouterr().err


def test_build_refuses_a_bad_metadata_file_before_building(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('title = "x"\nhdab = "not a table"\n', encoding="utf-8")
    with pytest.raises(Exception, match="hdab"):
        build(tmp_path, "no-refused", metadata=bad)
    assert not (tmp_path / "no-refused").exists()
