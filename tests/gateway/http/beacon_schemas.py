"""Validating documents against the official Beacon v2 schemas, offline.

The schemas are read at test time from ``../shared/beacon-v2`` next to the checkout
(``ALLELEMESH_BEACON_SCHEMAS`` or ``BEACON_V2_SCHEMAS`` point elsewhere), never copied
into the project; without them a test skips (fails under ``CI=true``, see
:mod:`tests.shared_files`). Every file is registered under its upstream URL (see the README
there), so relative and absolute ``$ref``s resolve; a ``$ref`` that does not resolve
raises instead of passing silently (the registry has no retriever).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.shared_files import SOURCES, missing, shared_path

UPSTREAM = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"
VRS_URL = "https://w3id.org/ga4gh/schema/vrs/1.3/vrs.json"

RESULTSETS = "framework/json/responses/beaconResultsetsResponse.json"
BOOLEAN = "framework/json/responses/beaconBooleanResponse.json"
COUNT = "framework/json/responses/beaconCountResponse.json"
COLLECTIONS = "framework/json/responses/beaconCollectionsResponse.json"
ERROR = "framework/json/responses/beaconErrorResponse.json"
INFO = "framework/json/responses/beaconInfoResponse.json"
MAP = "framework/json/responses/beaconMapResponse.json"
CONFIGURATION = "framework/json/responses/beaconConfigurationResponse.json"
ENTRY_TYPES = "framework/json/responses/beaconEntryTypesResponse.json"
FILTERING_TERMS = "framework/json/responses/beaconFilteringTermsResponse.json"
SERVICE_INFO = "framework/json/responses/ga4gh-service-info-1-0-0-schema.json"
G_VARIANT = "models/json/beacon-v2-default-model/genomicVariations/defaultSchema.json"
DATASET = "models/json/beacon-v2-default-model/datasets/defaultSchema.json"


def schemas_dir() -> Path:
    """Where the Beacon v2 schemas are; skips the test (fails under CI) when they are missing."""
    override = os.environ.get("ALLELEMESH_BEACON_SCHEMAS") or os.environ.get("BEACON_V2_SCHEMAS")
    if not override:
        return shared_path("beacon-v2", "framework", "json").parents[1]
    path = Path(override)
    if not (path / "framework" / "json").is_dir():
        missing(
            "Beacon v2 schemas (framework/json)", path / "framework" / "json", SOURCES["beacon-v2"]
        )
    return path


@functools.cache
def registry() -> Registry:
    """Every schema file under its upstream URL, VRS under its w3id URL."""
    root = schemas_dir()
    resources = []
    for path in sorted(root.rglob("*.json")):
        relative = path.relative_to(root).as_posix()
        url = VRS_URL if relative == "vrs-1.3.json" else UPSTREAM + relative
        document = json.loads(path.read_text(encoding="utf-8"))
        resources.append((url, Resource.from_contents(document, default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@functools.cache
def validator(schema: str) -> Draft202012Validator:
    """A validator for one schema file (path relative to the schemas folder)."""
    return Draft202012Validator({"$ref": UPSTREAM + schema}, registry=registry())


def errors(schema: str, document: Any) -> list[str]:
    """Every violation, as ``path: message``."""
    found = validator(schema).iter_errors(document)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


def assert_valid(schema: str, document: Any) -> None:
    """Fail with every violation listed."""
    problems = errors(schema, document)
    assert not problems, f"{schema}:\n" + "\n".join(problems[:20])


def assert_g_variants_valid(document: dict[str, Any]) -> None:
    """A ``g_variants`` response at its granularity, and every record it holds."""
    granularity = document["meta"]["returnedGranularity"]
    schema = {"boolean": BOOLEAN, "count": COUNT, "record": RESULTSETS}[granularity]
    assert_valid(schema, document)
    for result_set in document.get("response", {}).get("resultSets", []):
        for record in result_set["results"]:
            assert_valid(G_VARIANT, record)
