"""``[fdp]`` of gateway.toml, and the FDP's content negotiation rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.config import load_gateway_config
from mesh.errors import ConfigError
from mesh.fdp import FormatError, choose_format

BASE = """[gateway]
id = "gw"
listen = "127.0.0.1:0"
[[peers]]
id = "no-1"
country = "NO"
address = "127.0.0.1:1"
"""


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def test_fdp_table_is_read(tmp_path):
    (tmp_path / "shapes").mkdir()
    extra = '[fdp]\nshapes = "shapes"\ntitle = "T"\n'
    config = load_gateway_config(write(tmp_path, extra))
    assert config.fdp.shapes == tmp_path / "shapes"
    assert config.fdp.title == "T"
    assert load_gateway_config(write(tmp_path, "")).fdp.shapes is None


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ('[fdp]\nshapes = "nowhere"\n', "[fdp].shapes"),
        ('[fdp]\nbase_url = "https://x"\n', "[fdp].base_url"),  # [http] public_url is the base
        ('[fdp]\ntitel = "x"\n', "[fdp].titel"),
    ],
)
def test_a_bad_fdp_table_names_the_key(tmp_path, extra, named):
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")):
        load_gateway_config(write(tmp_path, extra))


@pytest.mark.parametrize(
    ("accept", "param", "chosen"),
    [
        (None, None, "ttl"),
        ("application/ld+json", None, "jsonld"),
        ("application/rdf+xml;q=0.5, text/turtle;q=0.9", None, "ttl"),
        ("text/turtle;q=0.2, application/ld+json", None, "jsonld"),
        ("text/html,application/xhtml+xml,*/*;q=0.8", None, "ttl"),
        ("text/turtle", "rdf", "rdf"),
        ("application/json", None, "jsonld"),
    ],
)
def test_content_negotiation(accept, param, chosen):
    assert choose_format(accept, param).name == chosen


@pytest.mark.parametrize(
    ("accept", "param"), [("text/html", None), (None, "csv"), ("text/turtle;q=0", None)]
)
def test_nothing_acceptable_is_an_error(accept, param):
    with pytest.raises(FormatError):
        choose_format(accept, param)


def test_an_existence_only_entry_is_never_published():
    from mesh.fdp import validate_dataset
    from mesh.v1 import catalog_service_pb2

    hidden = catalog_service_pb2.Dataset(id="no-x", country="NO", existence_only=True)
    (problem,) = validate_dataset(hidden, None)
    assert problem.field == "metadata"
    assert "withheld" in problem.problem
    (bare,) = validate_dataset(catalog_service_pb2.Dataset(id="no-y", country="NO"), None)
    assert bare.field == "metadata file"


def test_serving_never_imports_pyshacl():
    import subprocess
    import sys

    code = (
        "import sys, gateway.server, gateway.fdp, nodes.serve.server, nodes.index_cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyshacl'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"
