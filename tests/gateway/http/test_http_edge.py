"""What every answer carries and where it says the gateway is: security headers, local
Swagger UI, ``public_url`` instead of ``Host``, ASCII-only numbers. Real uvicorn on loopback.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from gateway.http.app import start_http
from mesh.config import TlsConfig, load_gateway_config
from mesh.config.http import HttpOptions
from mesh.errors import ConfigError
from mesh.tracing import TracingConfig, setup_tracing
from tests.gateway.http.fakes import FakeBackend

EXPECTED_SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
PUBLIC = "https://beacon.example.org/allelemesh/"
EVIL = "evil.example:666"


@dataclass(frozen=True)
class Config:
    http_listen: str = "127.0.0.1:0"
    tls: TlsConfig | None = None
    http: HttpOptions = field(default_factory=HttpOptions)


async def _serve(options: HttpOptions) -> AsyncIterator[httpx.AsyncClient]:
    telemetry = setup_tracing(TracingConfig(), service_name="gateway", node_id="gw-test")
    server = await start_http(FakeBackend(), Config(http=options), telemetry=telemetry)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            yield http
    finally:
        await server.stop()
        telemetry.shutdown()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async for http in _serve(HttpOptions()):
        yield http


@pytest.fixture
async def public_client() -> AsyncIterator[httpx.AsyncClient]:
    async for http in _serve(HttpOptions(public_url=PUBLIC)):
        yield http


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api", 200),
        ("GET", "/v1/datasets", 200),
        ("GET", "/api/g_variants?referenceName=1&start=x", 400),
        ("GET", "/no/such/thing", 404),
        ("DELETE", "/api", 405),
        ("GET", "/metrics", 200),
        ("GET", "/", 200),
        ("GET", "/static/app.css", 200),
        ("GET", "/docs", 200),
        ("GET", "/docs/assets/swagger-ui.css", 200),
        ("GET", "/openapi.json", 200),
        ("GET", "/api/", 307),
    ],
)
async def test_security_headers_on_every_answer(client, method, path, status):
    response = await client.request(method, path)
    assert response.status_code == status
    for name, value in EXPECTED_SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    assert len(response.headers.get_list("content-security-policy")) == 1


async def test_docs_page_loads_nothing_from_elsewhere(client):
    page = (await client.get("/docs")).text
    references = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert references, page
    assert all(ref.startswith("/") and not ref.startswith("//") for ref in references), references
    assert "<script>" not in page, "an inline script is refused by script-src 'self'"
    for ref in references:
        asset = await client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]
    assert b"SwaggerUIBundle" in bundle.content
    # FastAPI's CDN-loading pages are off.
    assert (await client.get("/redoc")).status_code == 404


async def test_urls_in_answers_come_from_public_url_not_host(public_client):
    headers = {"Host": EVIL}
    info = (await public_client.get("/api", headers=headers)).json()["response"]
    assert info["welcomeUrl"] == PUBLIC
    assert info["info"] == {"openApi": PUBLIC + "openapi.json", "jsonApi": PUBLIC + "v1/"}
    beacon_map = (await public_client.get("/api/map", headers=headers)).json()
    endpoints = beacon_map["response"]["endpointSets"]
    urls = [v for e in endpoints.values() for k, v in e.items() if k.endswith("Url")]
    assert urls
    assert all(url.startswith(PUBLIC) for url in urls), urls
    redirect = await public_client.get("/api/", headers=headers)
    assert redirect.status_code == 307
    assert redirect.headers["location"] == "https://beacon.example.org/api"
    for response in (redirect, await public_client.get("/api/map", headers=headers)):
        assert "evil" not in response.text
        assert "evil" not in str(response.headers)


async def test_without_public_url_the_listen_address_is_used_never_host(client):
    base = str(client.base_url).rstrip("/") + "/"
    info = (await client.get("/api", headers={"Host": EVIL})).json()["response"]
    assert info["welcomeUrl"] == base
    redirect = await client.get("/v1/datasets/", headers={"Host": EVIL})
    assert redirect.headers["location"] == base + "v1/datasets"


_VARIANT = "/api/g_variants?referenceName=1&referenceBases=A&alternateBases=T"
SUPERSCRIPT_TWO, FULLWIDTH_12, ARABIC_INDIC_9, BOLD_9 = (
    "\u00b2",
    "\uff11\uff12",
    "\u0669",
    "\U0001d7d7",
)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"{_VARIANT}&start={SUPERSCRIPT_TWO}", "start"),  # isdigit() but int() raises: was 500
        (f"{_VARIANT}&start={FULLWIDTH_12}", "start"),  # int() reads 12: was silently 200
        (f"/api/g_variants?referenceName=1&start=5&end={ARABIC_INDIC_9}", "end"),
        (f"{_VARIANT}&start=1&skip={SUPERSCRIPT_TWO}", "skip"),
        (f"{_VARIANT}&start=1&limit={BOLD_9}", "limit"),
        (f"/api/datasets?limit={SUPERSCRIPT_TWO}", "limit"),
        (f"/api/datasets?skip={FULLWIDTH_12}", "skip"),
        ("/api/datasets?skip=%2B1", "skip"),  # pydantic alone reads "+1"
        ("/api/datasets?limit=1_0", "limit"),  # ... and "1_0"
        (f"/v1/regions/1:1-5?page_size={SUPERSCRIPT_TWO}", "page_size"),
        ("/v1/regions/1:1-5?page_size=5.0", "page_size"),
        ("/api/g_variants?referenceName=1&start=1234567890123456789&end=1", "start"),
    ],
)
async def test_non_ascii_or_odd_numbers_are_400_naming_the_parameter(client, path, field):
    response = await client.get(path)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["field"] == field
    assert problem["detail"].startswith(field)


async def test_post_body_numbers_are_ascii_only_too(client):
    body = {
        "query": {
            "requestParameters": {
                "referenceName": "1",
                "start": ["\u0663"],
                "referenceBases": "A",
                "alternateBases": "T",
            }
        }
    }
    response = await client.post("/api/g_variants", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == "query.requestParameters.start"
    body["query"]["requestParameters"]["start"] = [4]
    body["query"]["pagination"] = {"limit": SUPERSCRIPT_TWO}
    response = await client.post("/api/g_variants", json=body)
    assert response.status_code == 400
    # (named query.limit today, not query.pagination.limit: Beacon's module reads paging)
    assert response.json()["field"].endswith("limit")


async def test_ascii_numbers_still_work(client):
    ok = "/api/g_variants?referenceName=1&start=4&referenceBases=A&alternateBases=T&limit=5"
    assert (await client.get(ok)).status_code == 200
    assert (await client.get("/api/datasets?skip=0&limit=2")).status_code == 200
    assert (await client.get("/v1/regions/1:1-5?page_size=7")).status_code == 200


def _gateway_toml(tmp_path: Path, http_table: str) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[gateway]\nid = "gw"\nlisten = "127.0.0.1:0"\n'
        '[[peers]]\nid = "no-1"\ncountry = "NO"\naddress = "127.0.0.1:1"\n' + http_table
    )
    return path


def test_http_table_is_read(tmp_path):
    config = load_gateway_config(
        _gateway_toml(
            tmp_path, '[http]\npublic_url = "https://b.example.org/x"\nheader_timeout_s = 2\n'
        )
    )
    assert config.http == HttpOptions("https://b.example.org/x/", 2.0)
    assert load_gateway_config(_gateway_toml(tmp_path, "")).http == HttpOptions()


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ('public_url = "beacon.example.org"', "public_url"),
        ('public_url = "ftp://beacon.example.org/"', "public_url"),
        ('public_url = "https://beacon.example.org/?a=1"', "public_url"),
        ("header_timeout_s = 0", "header_timeout_s"),
        ("header_timeout_s = 1000", "header_timeout_s"),
        ("header_timout_s = 5", "header_timout_s"),
    ],
)
def test_bad_http_table_names_the_key(tmp_path, table, key):
    with pytest.raises(ConfigError, match=rf"\[http\]\.{key}"):
        load_gateway_config(_gateway_toml(tmp_path, f"[http]\n{table}\n"))
