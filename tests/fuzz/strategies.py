"""Hypothesis strategies for hostile input: near-valid notations, tokens, TOML, JSON."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

CHROMS = [
    "1",
    "2",
    "22",
    "X",
    "Y",
    "MT",
    "chr1",
    "chrX",
    "chrM",
    "NC_000001.11",
    "NC_000023.11",
    "NC_000001.10",
    "0",
    "23",
    "chr",
    "",
    "1_KI270706v1_random",
    "\uff43\uff48\uff52\uff11",
    "\u0661",
]
BASES = st.text(alphabet="ACGTNacgtn-*.<>[]:0123456789DEL", min_size=0, max_size=12)
NUMBERS = st.one_of(
    st.integers(min_value=-10, max_value=300_000_000).map(str),
    st.sampled_from(["0", "00001", "1,000", "1,00", "9" * 40, "1e9", "-1", "", " 1", "\u0663"]),
)
SEPARATORS = st.sampled_from(["-", ":", " ", ">", ":g.", "\t", "--", "::", "_"])


def near_variant() -> st.SearchStrategy[str]:
    """Strings shaped like variant notations, with every part possibly wrong."""
    parts = st.tuples(
        st.sampled_from(CHROMS), SEPARATORS, NUMBERS, SEPARATORS, BASES, SEPARATORS, BASES
    )
    return st.one_of(parts.map("".join), st.text(max_size=60))


def near_region() -> st.SearchStrategy[str]:
    parts = st.tuples(st.sampled_from(CHROMS), SEPARATORS, NUMBERS, SEPARATORS, NUMBERS)
    return st.one_of(parts.map("".join), st.text(max_size=60))


JSON_LEAF = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
JSON: st.SearchStrategy[Any] = st.recursive(
    JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


def batch_body() -> st.SearchStrategy[Any]:
    """``POST /v1/variants:batch`` bodies: right keys with wrong values, and anything."""
    good_keys = st.fixed_dictionaries(
        {},
        optional={
            "variants": st.one_of(st.lists(near_variant(), max_size=5), JSON),
            "assembly": st.one_of(st.sampled_from(["GRCh38", "hg19", "GRCh36", ""]), JSON),
            "datasets": st.one_of(st.lists(st.text(max_size=10), max_size=3), JSON),
            "populations": st.one_of(st.lists(st.text(max_size=10), max_size=3), JSON),
        },
    )
    return st.one_of(good_keys, JSON)


# ------------------------------------------------------------------ TOML


def toml_value(value: Any) -> str:
    """A TOML literal for ``value`` (JSON strings are valid TOML basic strings)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if value == value and abs(value) != float("inf") else "nan"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return '""'


def toml_document(tables: dict[str, Any]) -> str:
    """``{"node": {...}, "peers": [{...}]}`` as TOML text."""
    lines = []
    for name, body in tables.items():
        if isinstance(body, list) and all(isinstance(b, dict) for b in body):
            for item in body:
                lines.append(f"[[{name}]]")
                lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in item.items()]
        elif isinstance(body, dict):
            lines.append(f"[{name}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in body.items()]
        else:
            lines.insert(0, f"{json.dumps(name)} = {toml_value(body)}")
    return "\n".join(lines) + "\n"


TOML_SCALAR = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["127.0.0.1:0", "[::1]:50051", "host:99999", "NO", "no", "GRCh38", "x" * 200]),
)
TOML_VALUE = st.one_of(TOML_SCALAR, st.lists(TOML_SCALAR, max_size=3))


def _mutated(base: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    keys = sorted(base)

    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        table = dict(base)
        for key in draw(st.lists(st.sampled_from(keys), max_size=3)):
            if draw(st.booleans()):
                table.pop(key, None)
            else:
                table[key] = draw(TOML_VALUE)
        if draw(st.booleans()):
            table[draw(st.text(min_size=1, max_size=12))] = draw(TOML_VALUE)
        return table

    return build()


def node_toml() -> st.SearchStrategy[str]:
    """node.toml documents: a valid one with keys removed, retyped or added."""
    node = {
        "id": "no-1",
        "country": "NO",
        "listen": "127.0.0.1:0",
        "workers": 1,
        "reload_interval_s": 2.0,
        "max_concurrent_rpcs": 1000,
    }
    peer = {"id": "fi-1", "country": "FI", "address": "127.0.0.1:1", "timeout_ms": 100}
    dataset = {"id": "ds", "index": ".", "round_counts_to": 10, "min_allele_count": 0}
    return st.fixed_dictionaries(
        {
            "node": _mutated(node),
            "peers": st.lists(_mutated(peer), max_size=2),
            "datasets": st.lists(_mutated(dataset), max_size=2),
        },
        optional={
            "tls": _mutated({"ca": "x.crt", "cert": "y.crt", "key": "z.key"}),
            "extra": TOML_VALUE,
        },
    ).map(toml_document)


def gateway_toml() -> st.SearchStrategy[str]:
    gateway = {
        "id": "gw",
        "listen": "127.0.0.1:0",
        "http_listen": "127.0.0.1:0",
        "timeout_ms": 1000,
        "catalog_refresh_s": 30,
        "max_concurrent_rpcs": 64,
    }
    peer = {"id": "fi-1", "country": "FI", "addresses": ["127.0.0.1:1"]}
    return st.fixed_dictionaries(
        {"gateway": _mutated(gateway), "peers": st.lists(_mutated(peer), max_size=2)}
    ).map(toml_document)
