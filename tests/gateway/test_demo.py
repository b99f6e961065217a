"""``make demo``: it ends saying how to keep the mesh up and how to open the pages, and the
browser bundle it writes really opens them (``--serve``, as ``make demo-serve`` runs it).

The real demo script (PKI, three nodes, a gateway, all mTLS) in a temporary run directory.
"""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.mesh_harness import REPO

pytestmark = pytest.mark.slow

DEMO = [sys.executable, str(REPO / "scripts" / "demo.py")]


def env(run: Path) -> dict[str, str]:
    return {**os.environ, "ALLELEMESH_DEMO_RUN": str(run), "COLUMNS": "400"}


def test_demo_ends_with_how_to_keep_it_up(tmp_path: Path) -> None:
    run = tmp_path / "demo-run"
    result = subprocess.run(
        DEMO, cwd=REPO, env=env(run), capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    text = " ".join(result.stdout.split())  # rich wraps long lines
    assert text.endswith(
        "every demo process has stopped now; to keep the mesh up for the pages run "
        "`make demo-serve` (or `.venv/bin/python scripts/demo.py --serve`)"
    )
    assert f"import {run}/pki/eu-portal-backend.p12 (password allelemesh-demo)" in text
    # The gene query: the CLI's resolution line and the JSON API's, for a previous symbol.
    assert "Gene PCSK9: PCSK9 is the approved symbol; GRCh38 span 1:55039548-55064853" in text
    assert "NARC1 is a previous symbol or alias of PCSK9" in text
    assert "2 variants, pooled AF" in text  # rs11591147's site and 1-55051215-G-GA
    # Nothing of the demo is left running.
    assert _left_running(run) == ""


def test_the_browser_bundle_opens_the_pages(tmp_path: Path) -> None:
    run = tmp_path / "demo-run"
    process = subprocess.Popen(
        [*DEMO, "--serve"], cwd=REPO, env=env(run), stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "demo ended early:\n" + "".join(lines[-30:])
            lines.append(line)
            if "serving until Ctrl-C" in line:
                break
        url = next(w for line in lines for w in line.split() if w.startswith("https://"))
        # What a browser does with the bundle: the key and certificate inside it.
        key, cert, extra = pkcs12.load_key_and_certificates(
            (run / "pki" / "eu-portal-backend.p12").read_bytes(), b"allelemesh-demo"
        )
        assert key is not None
        assert cert is not None
        pem_key = tmp_path / "browser.key"
        pem_key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        pem_cert = tmp_path / "browser.crt"
        pem_cert.write_bytes(
            b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [cert, *extra])
        )
        context = ssl.create_default_context(cafile=str(run / "pki" / "root-ca.crt"))
        context.load_cert_chain(str(pem_cert), str(pem_key))
        with urllib.request.urlopen(url, timeout=10, context=context) as page:
            assert page.status == 200
            assert "text/html" in page.headers["content-type"]
    finally:
        # SIGTERM, as a service manager stops it; the demo must stop its processes too.
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: nothing outlives the test
            process.wait()
    assert _left_running(run) == ""


def _left_running(run: Path) -> str:
    """Processes still running from this demo run (none, once the demo has ended).

    Any found are killed, so a failing check leaves nothing behind either.
    """
    left = subprocess.run(["pgrep", "-af", str(run)], capture_output=True, text=True, check=False)
    subprocess.run(["pkill", "-KILL", "-f", str(run)], check=False)
    return left.stdout.strip()
