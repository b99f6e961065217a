"""Certificates re-read from disk without a restart."""

from __future__ import annotations

import time

from mesh.security.tls import CredentialWatcher, ServerCertificateSource
from tests.mesh.security.conftest import (
    client_context,
    expect_refused,
    handshake,
    list_datasets,
    run_node,
)
from tests.pki_factory import TestPki, serial_of


async def test_new_connections_get_a_rotated_certificate(test_pki: TestPki) -> None:
    issued = test_pki.leaf("NO", "node", "no-oslo-1")
    server = test_pki.tls(issued)
    client = test_pki.tls(test_pki.leaf("FI", "gateway", "fi-gw"))
    old_serial = serial_of(issued.cert)
    async with run_node(server) as port:
        _, cert = await handshake(port, client_context(client))
        assert cert.serial_number == old_serial
        test_pki.leaf("NO", "node", "no-oslo-1", force=True)  # rotate in place
        new_serial = serial_of(issued.cert)
        assert new_serial != old_serial
        _, cert = await handshake(port, client_context(client))
        assert cert.serial_number == new_serial
        await list_datasets(port, client)  # gRPC clients are still served


async def test_trust_bundle_rotation_admits_a_new_ca(test_pki: TestPki) -> None:
    bundle = test_pki.out / "bundle.pem"
    bundle.write_bytes(test_pki.root_cert.read_bytes())
    server = test_pki.tls(test_pki.leaf("NO", "node", "no-oslo-1"), bundle)
    other = test_pki.foreign()
    newcomer = other.tls(other.leaf("LU", "gateway", "lu-gw"), test_pki.root_cert)
    async with run_node(server) as port:
        await expect_refused(port, newcomer)
        bundle.write_bytes(bundle.read_bytes() + other.root_cert.read_bytes())
        await list_datasets(port, newcomer)


def test_half_rotated_pair_keeps_the_old_one(test_pki: TestPki) -> None:
    issued = test_pki.leaf("NO", "node", "no-oslo-1")
    source = ServerCertificateSource(test_pki.tls(issued))
    old_serial = source.material.leaf.serial_number
    elsewhere = test_pki.leaf("NO", "node", "no-oslo-1-next")
    issued.cert.write_bytes(elsewhere.cert.read_bytes())  # new cert, old key: mismatch
    assert source() is None
    assert source.material.leaf.serial_number == old_serial
    issued.key.write_bytes(elsewhere.key.read_bytes())  # the key lands: now it switches
    assert source() is not None
    assert source.material.leaf.serial_number == serial_of(elsewhere.cert)
    assert source() is None  # nothing changed since


def test_credential_watcher_reports_each_change_once(test_pki: TestPki) -> None:
    tls = test_pki.tls(test_pki.leaf("NO", "gateway", "no-gw"))
    watcher = CredentialWatcher(tls, min_interval_s=0)
    assert not watcher.changed()
    test_pki.leaf("NO", "gateway", "no-gw", force=True)
    assert watcher.changed()
    assert not watcher.changed()


def test_credential_watcher_is_rate_limited(test_pki: TestPki) -> None:
    tls = test_pki.tls(test_pki.leaf("NO", "gateway", "no-gw"))
    watcher = CredentialWatcher(tls, min_interval_s=60)
    test_pki.leaf("NO", "gateway", "no-gw", force=True)
    started = time.perf_counter()
    assert not watcher.changed()  # within the interval: no stat at all
    assert time.perf_counter() - started < 0.01
