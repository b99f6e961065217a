"""Why a connection failed, in words an operator can act on.

gRPC reports every transport failure as ``UNAVAILABLE`` with core's text ("failed to
connect to all addresses; ... SSL_ERROR_SSL ..."), which does not say whose fault it
was. When a call fails that way, :func:`diagnose` retries the connection once with
Python's ``ssl`` and the same files and names the cause:

* ``nothing is listening at HOST:PORT (connection refused)``
* ``server certificate not trusted by our CA bundle (ca.crt): certificate has expired``
* ``server asked for a client certificate and we sent none``
* ``our certificate was refused by the server: expired``
* ``HOST:PORT speaks TLS: drop --insecure and give --ca/--cert/--key`` and the reverse.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature

from mesh.config import TlsConfig
from mesh.security.certificates import validity_problem

#: TLS alerts a server sends when it refuses our certificate, in words.
_REFUSED = {
    "CERTIFICATE_EXPIRED": "expired",
    "UNKNOWN_CA": "not issued by a CA the server trusts",
    "BAD_CERTIFICATE": "bad certificate",
    "CERTIFICATE_REVOKED": "revoked",
    "UNSUPPORTED_CERTIFICATE": "unsupported certificate",
    "CERTIFICATE_UNKNOWN": "certificate unknown",
    "ACCESS_DENIED": "access denied",
}
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def _context(tls: TlsConfig | None, with_cert: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if tls is not None:
        for ca in tls.ca:
            context.load_verify_locations(cafile=str(ca))
        if with_cert:
            context.load_cert_chain(str(tls.cert), str(tls.key))
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    return context


def _alert(error: ssl.SSLError) -> str:
    """The alert name in an ``SSLError`` (``SSLV3_ALERT_CERTIFICATE_EXPIRED`` -> ...)."""
    reason = str(error.reason or error)
    for name in ("SSLV3_ALERT_", "TLSV1_ALERT_", "TLSV13_ALERT_"):
        if name in reason:
            return reason.split(name, 1)[1].split(" ", 1)[0].split("]", 1)[0]
    return reason


def _handshake(address: str, context: ssl.SSLContext, timeout: float) -> bool:
    """Whether the server went on to HTTP/2 after the TLS handshake (False: it hung up)."""
    host, port = _split(address)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        server_name = host if context.check_hostname else None
        with context.wrap_socket(raw, server_hostname=server_name) as tls_socket:
            # TLS 1.3 gives the verdict on our certificate after the handshake: a gRPC
            # server that accepts us sends its HTTP/2 SETTINGS, one that refuses hangs up.
            tls_socket.sendall(_H2_PREFACE + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            return bool(tls_socket.recv(1))


def _why_ours_is_refused(tls: TlsConfig) -> str:
    """What is wrong with our own certificate, as far as we can tell from here."""
    try:
        chain = x509.load_pem_x509_certificates(tls.cert.read_bytes())
        trusted = [c for ca in tls.ca for c in x509.load_pem_x509_certificates(ca.read_bytes())]
    except (OSError, ValueError):
        return "unreadable certificate"
    problem = validity_problem(chain[0])
    if problem is not None:
        return problem.split(" (valid", 1)[0].replace("is not valid", "not valid")
    if not any(_issued_by(c, t) for c in chain for t in trusted):
        return "issued by a CA outside the trust bundle (ours does not trust it either)"
    return "the server does not trust its issuer, or its policy refuses us (see its logs)"


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Signed by ``ca``'s key (names alone prove nothing: a foreign PKI may copy them)."""
    if cert.issuer != ca.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _refused_certificate(alert: str, tls: TlsConfig) -> str:
    if alert == "CERTIFICATE_REQUIRED":
        return "server asked for a client certificate and we sent none"
    what = _REFUSED.get(alert, alert.lower().replace("_", " "))
    return f"our certificate was refused by the server: {what} ({tls.cert})"


def diagnose(
    address: str, tls: TlsConfig | None, timeout: float = 3.0, *, ca_only: Sequence[Path] = ()
) -> str:
    """One sentence saying why ``address`` cannot be reached with ``tls`` (None: plaintext).

    ``ca_only``: TLS trusting these CAs, without a client certificate.
    """
    try:
        host, port = _split(address)
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except ConnectionRefusedError:
        return f"nothing is listening at {address} (connection refused)"
    except (OSError, ValueError) as exc:
        return f"cannot connect to {address}: {getattr(exc, 'strerror', None) or exc}"
    if tls is None and ca_only:
        return _without_certificate(address, ca_only, timeout)
    if tls is None:
        return _plaintext_to(address, timeout)
    bundle = ", ".join(Path(ca).name for ca in tls.ca)
    try:
        answered = _handshake(address, _context(tls, with_cert=True), timeout)
    except ssl.SSLCertVerificationError as exc:
        return f"server certificate not trusted by our CA bundle ({bundle}): {exc.verify_message}"
    except ssl.SSLError as exc:
        alert = _alert(exc)
        if "WRONG_VERSION_NUMBER" in alert or "RECORD_LAYER_FAILURE" in alert:
            return f"{address} does not speak TLS (a plaintext server? then use --insecure)"
        return _refused_certificate(alert, tls)
    except (OSError, TimeoutError) as exc:
        return f"TLS with {address} failed: {exc}"
    if not answered:
        return (
            f"our certificate was refused by the server: {_why_ours_is_refused(tls)} ({tls.cert})"
        )
    return f"TLS with {address} works; the server closed the gRPC connection"


def _without_certificate(address: str, cas: Sequence[Path], timeout: float) -> str:
    """We offered TLS without a certificate: untrusted server, or it wants ours."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for ca in cas:
        context.load_verify_locations(cafile=str(ca))
    context.set_alpn_protocols(["h2"])
    try:
        answered = _handshake(address, context, timeout)
    except ssl.SSLCertVerificationError as exc:
        bundle = ", ".join(Path(ca).name for ca in cas)
        return f"server certificate not trusted by our CA bundle ({bundle}): {exc.verify_message}"
    except ssl.SSLError as exc:
        if _alert(exc) not in ("CERTIFICATE_REQUIRED", "HANDSHAKE_FAILURE"):
            return f"TLS with {address} failed: {_alert(exc)}"
        answered = False
    except OSError as exc:
        return f"TLS with {address} failed: {exc}"
    if not answered:
        return "server asked for a client certificate and we sent none (give --cert and --key)"
    return f"TLS with {address} works; the server closed the gRPC connection"


def _plaintext_to(address: str, timeout: float) -> str:
    """What a plaintext attempt met: a server that wants TLS, or one that said nothing."""
    with contextlib.suppress(ssl.SSLError, OSError, TimeoutError):
        context = _context(None, with_cert=False)
        host, port = _split(address)
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw),
        ):
            pass
        return f"{address} speaks TLS: drop --insecure and give --ca, --cert and --key"
    return f"{address} accepted a connection but did not answer gRPC"
