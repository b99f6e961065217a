"""``allelemesh gateway check-config``: validated as a start would, nothing served."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.mesh_harness import REPO, free_port
from tests.pki_factory import TestPki


def write(tmp_path: Path, pki: TestPki, listen: str, http: str) -> Path:
    issued = pki.leaf("DE", "gateway", "de-gw")
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[gateway]\nid = "de-gw"\ncountry = "DE"\nlisten = "{listen}"\nhttp_listen = "{http}"\n'
        f'[tls]\nca = ["{pki.root_cert}"]\ncert = "{issued.cert}"\nkey = "{issued.key}"\n'
        '[[peers]]\nid = "no-oslo-1"\ncountry = "NO"\naddress = "10.0.0.7:50051"\n'
    )
    return config


def check(config: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mesh", "gateway", "check-config", str(config)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "ALLELEMESH_RUNTIME_DIR": str(tmp_path / "run")},
    )  # fmt: skip


def test_good_gateway_config(tmp_path: Path) -> None:
    pki = TestPki.create(tmp_path / "pki", countries=("DE",))
    listen, http = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    config = write(tmp_path, pki, listen, http)
    result = check(config, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "gateway de-gw (DE)"
    assert lines[1].startswith("transport: mTLS as spiffe://allelemesh.example/country/DE/gateway/")
    assert f"gRPC on {listen} ([gateway].listen): free" in lines
    assert (
        f"HTTPS (client certificates required) API and pages on {http} "
        "([gateway].http_listen): free"
    ) in lines
    assert "peer no-oslo-1 (NO) at 10.0.0.7:50051" in lines
    assert lines[-1] == f"{config}: OK (nothing was started)"


def test_busy_http_port_fails_the_check(tmp_path: Path) -> None:
    pki = TestPki.create(tmp_path / "pki", countries=("DE",))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = write(tmp_path, pki, f"127.0.0.1:{free_port()}", f"127.0.0.1:{port}")
        result = check(config, tmp_path)
    assert result.returncode == 2
    [problem] = [line for line in result.stderr.splitlines() if "configuration error" in line]
    assert problem.startswith(
        f"allelemesh: configuration error: [gateway].http_listen 127.0.0.1:{port}: port {port} "
        f"is in use by pid {os.getpid()} ("
    )


def test_references_are_opened_as_serve_would(tmp_path: Path) -> None:
    pki = TestPki.create(tmp_path / "pki", countries=("DE",))
    config = write(tmp_path, pki, f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}")
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr1\nACGTACGT\n")
    base = config.read_text()
    config.write_text(base + f'[references]\nGRCh38 = "{fasta}"\n')
    good = check(config, tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"reference GRCh38: {fasta} (HGVS indels at the HTTP edge)" in good.stdout
    fasta.write_text(">scaffold_9\nACGT\n")  # no chromosome of GRCh38
    (tmp_path / "ref.fa.fai").unlink()
    bad = check(config, tmp_path)
    assert bad.returncode != 0
    assert "no contig names a chromosome of GRCh38" in bad.stdout + bad.stderr


def test_gene_files_are_read_as_serve_would(tmp_path: Path) -> None:
    pki = TestPki.create(tmp_path / "pki", countries=("DE",))
    config = write(tmp_path, pki, f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}")
    gtf = tmp_path / "genes37.gtf"
    attrs = 'gene_id "ENSG1"; gene_name "PCSK9";'
    gtf.write_text(f"chr1\tHAVANA\tgene\t55505221\t55530525\t.\t+\t.\t{attrs}\n")
    config.write_text(config.read_text() + f'[genes]\nGRCh37 = "{gtf}"\n')
    good = check(config, tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"genes GRCh37: {gtf} (2 names)" in good.stdout  # PCSK9 and its gene_id
    gtf.write_text(f"chr1\tHAVANA\tgene\tx\t10\t.\t+\t.\t{attrs}\n")
    bad = check(config, tmp_path)
    assert bad.returncode != 0
    assert "record 1 has no valid start and end" in bad.stdout + bad.stderr
