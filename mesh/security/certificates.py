"""Certificate validity: refuse to start on a dead certificate, warn well before one dies.

* :func:`check_tls_files` is what ``node serve``, ``gateway serve`` and ``check-config``
  run before serving: an expired or not-yet-valid ``[tls].cert`` (or CA of ``[tls].ca``)
  is a :class:`~mesh.errors.ConfigError` naming the file and its dates. (The library's
  ``start_node`` does not refuse, so tests can still stand up a dead peer on purpose.)
* :data:`EXPIRY` records every certificate the process uses or is shown: its own (each
  time ``[tls]`` files are loaded, rotation included) and its peers' (each identity
  check's handshake). Within :data:`WARN_DAYS` of the end it logs a warning once per
  certificate, and ``/metrics`` always shows::

      allelemesh_certificate_expiry_timestamp_seconds{kind="own",certificate="/etc/am/node.crt"}
      allelemesh_certificate_expiring_soon{kind="peer",certificate="10.0.0.7:50051"} 1
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.core import Metric as PromMetric
from prometheus_client.registry import Collector

from mesh.errors import ConfigError

log = logging.getLogger(__name__)

#: Warn (logs and ``/metrics``) from this many days before a certificate expires.
WARN_DAYS = 30
_DAY_S = 86_400.0


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def validity_problem(cert: x509.Certificate, now: float | None = None) -> str | None:
    """``expired on ...`` / ``is not valid until ...`` with both dates, or None if valid now."""
    now = time.time() if now is None else now
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    dates = f"(valid from {_when(start)} to {_when(end)})"
    if end.timestamp() < now:
        return f"expired on {_when(end)} {dates}"
    if start.timestamp() > now:
        return f"is not valid until {_when(start)} {dates}: check this machine's clock"
    return None


def _load(path: Path, setting: str) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{setting}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{setting}: {path} is not a PEM certificate: {exc}") from None


def check_tls_files(cert: Path, cas: Iterable[Path], now: float | None = None) -> None:
    """Refuse an expired or not-yet-valid certificate (``[tls].cert``, then each CA)."""
    for setting, path in (("[tls].cert", cert), *(("[tls].ca", ca) for ca in cas)):
        certificate = _load(path, setting)[0]  # the leaf, or the CA the file is for
        problem = validity_problem(certificate, now)
        if problem is not None:
            renew = " (renew it: allelemesh pki issue ...)" if setting == "[tls].cert" else ""
            raise ConfigError(f"{setting}: certificate {path} {problem}{renew}")
        if setting == "[tls].cert":
            EXPIRY.observe("own", str(path), certificate)


@dataclass(frozen=True)
class _Seen:
    kind: str
    name: str
    not_after: float
    serial: int


class CertificateExpiry(Collector):
    """Every certificate seen, for ``/metrics``; warns once per certificate near its end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # gRPC's certificate fetcher runs in its threads
        self._seen: dict[tuple[str, str], _Seen] = {}
        self._warned: set[tuple[str, str, int]] = set()

    def observe(self, kind: str, name: str, cert: x509.Certificate) -> None:
        """Record ``cert`` (``kind`` ``own`` or ``peer``; ``name`` its file or address)."""
        end = cert.not_valid_after_utc
        seen = _Seen(kind, name, end.timestamp(), cert.serial_number)
        with self._lock:
            self._seen[(kind, name)] = seen
            left_days = (seen.not_after - time.time()) / _DAY_S
            key = (kind, name, seen.serial)
            if left_days > WARN_DAYS or key in self._warned:
                return
            self._warned.add(key)
        whose = "our certificate" if kind == "own" else "peer certificate of"
        state = "expired on" if left_days < 0 else f"expires in {max(0, int(left_days))} days, on"
        log.warning(
            "%s %s %s %s: renew it",
            whose,
            name,
            state,
            _when(end),
            extra={"fields": {"certificate": name, "kind": kind, "not_after": end.isoformat()}},
        )

    def collect(self) -> Iterable[PromMetric]:
        expiry = GaugeMetricFamily(
            "allelemesh_certificate_expiry_timestamp_seconds",
            "notAfter of each certificate in use (own) or presented by a peer",
            labels=["kind", "certificate"],
        )
        soon = GaugeMetricFamily(
            "allelemesh_certificate_expiring_soon",
            f"1 when the certificate expires within {WARN_DAYS} days (or has expired)",
            labels=["kind", "certificate"],
        )
        horizon = time.time() + WARN_DAYS * _DAY_S
        with self._lock:
            seen = list(self._seen.values())
        for entry in seen:
            expiry.add_metric([entry.kind, entry.name], entry.not_after)
            soon.add_metric([entry.kind, entry.name], float(entry.not_after <= horizon))
        return [expiry, soon]


#: The process-wide record (one process, one set of certificates and peers).
EXPIRY = CertificateExpiry()
