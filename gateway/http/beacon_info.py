"""Beacon v2 informational documents: meta sections, info, service-info, map, configuration.

Everything here is built from :class:`HttpSettings` and the request's base URL, so
links in ``/api/map`` point at the server that answered.
"""

from __future__ import annotations

from gateway.http.convert import JsonObject
from gateway.http.settings import BEACON_API_VERSION, SERVICE_VERSION, HttpSettings
from mesh.model.genome import Assembly

SCHEMA_BASE = "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/"
G_VARIANT_SCHEMA = "ga4gh-beacon-variant-v2.0.0"
DATASET_SCHEMA = "ga4gh-beacon-dataset-v2.0.0"
RETURNED_SCHEMAS = {
    "genomicVariant": [{"entityType": "genomicVariant", "schema": G_VARIANT_SCHEMA}],
    "dataset": [{"entityType": "dataset", "schema": DATASET_SCHEMA}],
    "info": [{"entityType": "info", "schema": "beacon-info-v2.0.0"}],
    "configuration": [{"entityType": "configuration", "schema": "beacon-configuration-v2.0.0"}],
    "map": [{"entityType": "map", "schema": "beacon-map-v2.0.0"}],
    "entryType": [{"entityType": "entryType", "schema": "beacon-entry-types-v2.0.0"}],
    "filteringTerm": [{"entityType": "filteringTerm", "schema": "beacon-filtering-terms-v2.0.0"}],
}
_STATUS = {"prod": "PROD", "test": "TEST", "staging": "TEST", "dev": "DEV"}


def informational_meta(settings: HttpSettings, entity: str) -> JsonObject:
    """``meta`` of the informational endpoints."""
    return {
        "beaconId": settings.beacon_id,
        "apiVersion": BEACON_API_VERSION,
        "returnedSchemas": RETURNED_SCHEMAS[entity],
    }


def response_meta(
    settings: HttpSettings,
    entity: str,
    *,
    granularity: str,
    requested_granularity: str,
    skip: int = 0,
    limit: int = 10,
    parameters: JsonObject | None = None,
    include: str | None = None,
    filters: list[str] | None = None,
    assembly: Assembly | None = None,
    test_mode: bool = False,
) -> JsonObject:
    """``meta`` of a query response, with the request summary the schema requires.

    ``assembly`` is the one the query was answered on: the request's ``assemblyId``, or
    the gateway's ``default_assembly`` when it gave none (echoed as ``assemblyId``).
    """
    summary: JsonObject = {
        "apiVersion": BEACON_API_VERSION,
        "requestedSchemas": [],
        "pagination": {"skip": skip, "limit": limit},
        "requestedGranularity": requested_granularity,
        "testMode": test_mode,
    }
    if parameters or assembly is not None:
        # requestParameters maps entry types to objects: {"g_variant": {...}}.
        received = dict(parameters or {})
        if assembly is not None:
            received["assemblyId"] = assembly.value
        summary["requestParameters"] = {"g_variant": received}
    if include is not None:
        summary["includeResultsetResponses"] = include
    if filters:
        summary["filters"] = filters
    return {
        "beaconId": settings.beacon_id,
        "apiVersion": BEACON_API_VERSION,
        "returnedSchemas": RETURNED_SCHEMAS[entity],
        "returnedGranularity": granularity,
        "receivedRequestSummary": summary,
        # No meta.testMode: the spec types it boolean, EGA's beacon-verifier an object;
        # the request's own testMode is echoed in receivedRequestSummary instead.
    }


def info_response(settings: HttpSettings, base_url: str) -> JsonObject:
    """``/api`` and ``/api/info``."""
    return {
        "meta": informational_meta(settings, "info"),
        "response": {
            "id": settings.beacon_id,
            "name": settings.beacon_name,
            "apiVersion": BEACON_API_VERSION,
            "environment": settings.environment,
            "version": SERVICE_VERSION,
            "description": (
                "Allele frequencies federated over national genomic data nodes; only "
                "aggregated counts, per country, dataset and population."
            ),
            "welcomeUrl": base_url,
            "organization": {
                "id": settings.organization_id,
                "name": settings.organization_name,
                "welcomeUrl": settings.organization_url,
            },
            "info": {"openApi": f"{base_url}openapi.json", "jsonApi": f"{base_url}v1/"},
        },
    }


def service_info(settings: HttpSettings) -> JsonObject:
    """``/api/service-info`` (GA4GH service-info 1.0)."""
    return {
        "id": settings.beacon_id,
        "name": settings.beacon_name,
        "type": {"group": "org.ga4gh", "artifact": "beacon", "version": BEACON_API_VERSION},
        "description": "Federated allele-frequency Beacon (allelemesh)",
        "organization": {"name": settings.organization_name, "url": settings.organization_url},
        "version": SERVICE_VERSION,
        "environment": settings.environment,
    }


def entry_types() -> JsonObject:
    """The two entry types served: ``genomicVariant`` and ``dataset``."""
    return {
        "genomicVariant": {
            "id": "genomicVariant",
            "name": "Genomic Variants",
            "ontologyTermForThisType": {"id": "ENSGLOSSARY:0000092", "label": "Variant"},
            "partOfSpecification": f"Beacon {BEACON_API_VERSION}",
            "description": "A variant with its allele counts per country, dataset and population",
            "defaultSchema": {
                "id": G_VARIANT_SCHEMA,
                "name": "Default schema for a genomic variation",
                "referenceToSchemaDefinition": SCHEMA_BASE
                + "models/json/beacon-v2-default-model/genomicVariations/defaultSchema.json",
                "schemaVersion": BEACON_API_VERSION,
            },
            "nonFilteredQueriesAllowed": True,
        },
        "dataset": {
            "id": "dataset",
            "name": "Datasets",
            "ontologyTermForThisType": {"id": "NCIT:C47824", "label": "Data set"},
            "partOfSpecification": f"Beacon {BEACON_API_VERSION}",
            "description": "An aggregated allele-count dataset held by one national node",
            "defaultSchema": {
                "id": DATASET_SCHEMA,
                "name": "Default schema for datasets",
                "referenceToSchemaDefinition": SCHEMA_BASE
                + "models/json/beacon-v2-default-model/datasets/defaultSchema.json",
                "schemaVersion": BEACON_API_VERSION,
            },
            "aCollectionOf": [{"id": "genomicVariant", "name": "Genomic Variants"}],
            "nonFilteredQueriesAllowed": True,
        },
    }


def configuration_response(settings: HttpSettings) -> JsonObject:
    """``/api/configuration``."""
    return {
        "meta": informational_meta(settings, "configuration"),
        "response": {
            "$schema": SCHEMA_BASE + "framework/json/configuration/beaconConfigurationSchema.json",
            "maturityAttributes": {"productionStatus": _STATUS.get(settings.environment, "DEV")},
            "securityAttributes": {
                "defaultGranularity": "boolean",
                "securityLevels": ["PUBLIC"],
            },
            "entryTypes": entry_types(),
        },
    }


def entry_types_response(settings: HttpSettings) -> JsonObject:
    """``/api/entry_types``."""
    return {
        "meta": informational_meta(settings, "entryType"),
        "response": {"entryTypes": entry_types()},
    }


def map_response(settings: HttpSettings, base_url: str) -> JsonObject:
    """``/api/map``: where each entry type is served."""
    return {
        "meta": informational_meta(settings, "map"),
        "response": {
            "$schema": SCHEMA_BASE + "framework/json/configuration/beaconMapSchema.json",
            "endpointSets": {
                "genomicVariant": {
                    "entryType": "genomicVariant",
                    "rootUrl": f"{base_url}api/g_variants",
                    "openAPIEndpointsDefinition": f"{base_url}openapi.json",
                },
                "dataset": {
                    "entryType": "dataset",
                    "rootUrl": f"{base_url}api/datasets",
                    "singleEntryUrl": f"{base_url}api/datasets/{{id}}",
                    "openAPIEndpointsDefinition": f"{base_url}openapi.json",
                },
            },
        },
    }


def filtering_terms_response(settings: HttpSettings) -> JsonObject:
    """``/api/filtering_terms``: none; variants are queried by position and alleles."""
    return {
        "meta": informational_meta(settings, "filteringTerm"),
        "response": {"filteringTerms": [], "resources": []},
    }
