"""Tiers: ``production``, ``staging`` (or a name the federation defines) never exchange queries.

The scheme (see the README's operator section): **one PKI, hence one trust domain, per
tier**, and the tier written into every certificate that PKI issues. ``allelemesh pki
init --tier staging`` records the tier beside the trust domain; the root, each country
CA and each leaf carry it as the subject's ``OU``, and each country CA's critical name
constraint (permitted ``directoryName`` ``C=<CC>, O=<td>, OU=<tier>``) makes the TLS
stack itself refuse a leaf of another tier under that CA. A leaf without an ``OU``
(made before tiers existed) is ``production``.

So a tier is certified, not configured: ``[node].tier`` / ``[gateway].tier`` must say
what the process's own certificate says (:func:`check_own_tier`, a mismatch stops the
process at start), and :class:`mesh.security.trust.TrustStore` refuses a peer certificate of
another tier on both sides of every call (``TIER_MISMATCH``, naming both tiers): the
server's per-call guard answers ``UNAUTHENTICATED``, the client's identity check never
opens the channel, and the fan-out records that outcome and pools nothing from it. Even
a trust bundle that lists both tiers' roots by mistake keeps them apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.x509.oid import NameOID
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import Metric as PromMetric
from prometheus_client.registry import Collector

from mesh.config.tiers import PRODUCTION
from mesh.errors import ConfigError

if TYPE_CHECKING:
    from mesh.config import TlsConfig


def beacon_environment(tier: str) -> str:
    """Beacon v2 ``info.environment``: ``prod`` for production, ``test`` for every other tier."""
    return "prod" if tier == PRODUCTION else "test"


def tier_of_name(name: x509.Name) -> str | None:
    """The ``OU`` of a certificate subject or name constraint, if it has exactly one."""
    units = {str(a.value) for a in name.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)}
    return units.pop() if len(units) == 1 else None


def tier_of_certificate(cert: x509.Certificate) -> str:
    """The tier a certificate was issued for (no ``OU``: ``production``)."""
    return tier_of_name(cert.subject) or PRODUCTION


def permitted_directory_names(cert: x509.Certificate) -> list[x509.Name]:
    """The ``directoryName`` subtrees a CA's name constraints permit (none: unconstrained).

    A country CA of ``allelemesh pki`` permits exactly one, ``C=<CC>, O=<td>, OU=<tier>``:
    what it may vouch for is read from here (:func:`ca_tier`,
    :func:`mesh.security.trust.ca_country`).
    """
    try:
        constraints = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return []
    return [
        subtree.value
        for subtree in constraints.permitted_subtrees or ()
        if isinstance(subtree, x509.DirectoryName)
    ]


def ca_tier(cert: x509.Certificate) -> str | None:
    """The tier a CA may issue for: ``OU`` of its permitted ``directoryName`` (None: any)."""
    tiers = {tier_of_name(name) for name in permitted_directory_names(cert)}
    tiers.discard(None)
    return tiers.pop() if len(tiers) == 1 else None


def own_tier(tls: TlsConfig) -> str:
    """The tier of ``[tls].cert``."""
    try:
        cert = x509.load_pem_x509_certificates(tls.cert.read_bytes())[0]
    except OSError as exc:
        raise ConfigError(f"[tls].cert: cannot read {tls.cert}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"[tls].cert: {tls.cert} is not a PEM certificate: {exc}") from None
    return tier_of_certificate(cert)


def check_own_tier(tier: str, tls: TlsConfig | None, who: str) -> str:
    """Refuse a configured tier that the process's certificate does not carry.

    Plaintext (``--insecure``) processes have nothing certified: the configured tier is
    all there is, and the README says so.
    """
    if tls is None:
        return tier
    certified = own_tier(tls)
    if certified != tier:
        raise ConfigError(
            f"[{who}].tier: {tier!r} but certificate {tls.cert} was issued for tier "
            f"{certified!r}; a tier is certified, not configured: use a {tier} certificate "
            f"(allelemesh pki ... of the {tier} PKI) or set tier = {certified!r}"
        )
    return tier


def mismatch_message(peer: str, peer_tier: str, tier: str) -> str:
    """The one wording of a refusal across tiers (logs, outcomes, ``mesh check``)."""
    return (
        f"{peer} is in tier {peer_tier!r}, this process is in tier {tier!r}: "
        "tiers never exchange queries"
    )


class TierInfo(Collector):
    """``allelemesh_tier_info{tier="production"} 1`` for ``/metrics``."""

    def __init__(self, tier: str, process: str) -> None:
        self.tier, self.process = tier, process

    def collect(self) -> Iterable[PromMetric]:
        info = GaugeMetricFamily(
            "allelemesh_tier_info",
            "The tier this process belongs to (certified by its certificate)",
            labels=["tier", "process"],
        )
        info.add_metric([self.tier, self.process], 1.0)
        return [info]
