"""Allow-list patterns against principals, and the intersection a forwarded call gets."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.http.oidc import dataset_of_visa_value
from mesh.plumbing.callctx import CallContext
from mesh.security.identity import SpiffeId
from mesh.security.principal import ANONYMOUS, VISA_PATTERN, Principal, pattern_matches
from nodes.serve.policy import AccessRule, DatasetPolicy, Granularity

ISSUER = "https://login.example/oidc/"
GATEWAY = SpiffeId("allelemesh.example", "DE", "gateway", "eu-gw-1")
ALICE = Principal.oidc(ISSUER, "alice@example.org", frozenset({"no-ds"}))


@pytest.mark.parametrize(
    ("pattern", "principal", "expected"),
    [
        ("*", ANONYMOUS, True),
        ("spiffe://allelemesh.example/country/*/gateway/*", ANONYMOUS, False),
        ("spiffe://allelemesh.example/country/*/gateway/*", Principal.of_spiffe(GATEWAY), True),
        (f"oidc:{ISSUER}#alice@example.org", ALICE, True),
        (f"oidc:{ISSUER}#*", ALICE, True),
        (f"oidc:{ISSUER}#bob*", ALICE, False),
        ("oidc:https://login.example/#alice@example.org", ALICE, False),  # issuer exact
        (f"oidc:{ISSUER}#*", Principal.of_spiffe(GATEWAY), False),
        ("spiffe://allelemesh.example/country/*/gateway/*", ALICE, False),
        (VISA_PATTERN, ALICE, True),
        (VISA_PATTERN, Principal.oidc(ISSUER, "bob"), False),
    ],
)
def test_pattern_matches(pattern: str, principal: Principal, expected: bool):
    assert pattern_matches(pattern, principal, "no-ds") is expected


def test_visa_pattern_needs_a_grant_for_this_very_dataset():
    assert not pattern_matches(VISA_PATTERN, ALICE, "fi-ds")


class _AuthContext:
    """What gRPC hands a servicer: the verified client leaf (here one without SPIFFE)."""

    def __init__(self, pem: bytes) -> None:
        self.pem = pem

    def auth_context(self) -> dict[str, list[bytes]]:
        return {"x509_pem_cert": [self.pem]}


def test_a_certificate_without_a_spiffe_id_is_anonymous_to_policies():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nobody")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    call = CallContext(grpc_context=_AuthContext(cert.public_bytes(serialization.Encoding.PEM)))
    assert call.caller is None
    assert call.principal.anonymous
    gated = DatasetPolicy(rules=(AccessRule("spiffe://allelemesh.example/country/*/node/*"),))
    assert gated.granularity_for_call("no-ds", call) is None


class ForwardedCall(CallContext):
    """A call whose identities are already known (no gRPC context)."""

    def __init__(self, origin: Principal, forwarder: Principal | None) -> None:
        super().__init__(None, principal=origin)
        self._forwarder = forwarder


def test_forwarded_call_gets_the_stricter_granularity_of_both():
    gateways = "spiffe://allelemesh.example/country/*/gateway/*"
    policy = DatasetPolicy(rules=(AccessRule(gateways, Granularity.COUNT),
                                  AccessRule(f"oidc:{ISSUER}#*", Granularity.RECORD)))  # fmt: skip
    through = ForwardedCall(ALICE, Principal.of_spiffe(GATEWAY))
    assert policy.granularity_for_call("no-ds", through) is Granularity.COUNT
    assert policy.granularity_for_call("no-ds", ForwardedCall(ALICE, None)) is Granularity.RECORD
    nobody = ForwardedCall(ANONYMOUS, Principal.of_spiffe(GATEWAY))
    assert policy.granularity_for_call("no-ds", nobody) is None
    assert DatasetPolicy().granularity_for_call("no-ds", nobody) is Granularity.RECORD


@pytest.mark.parametrize(
    ("value", "dataset"),
    [
        ("no-ds", "no-ds"),
        ("https://gdi.example/datasets/no-ds", "no-ds"),
        ("https://gdi.example/datasets/no-ds/", "no-ds"),
        ("https://gdi.example/datasets/no-ds?v=2#x", "no-ds"),
        ("urn:gdi:dataset:no-ds", "no-ds"),
        ("https://gdi.example/datasets/", "datasets"),
        ("", None),
        ("https://gdi.example/datasets/bad id", None),
        (42, None),
    ],
)
def test_visa_values_name_a_dataset(value: object, dataset: str | None):
    assert dataset_of_visa_value(value) == dataset
