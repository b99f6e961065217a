"""Loading a config imports neither OpenTelemetry nor the tracing layer (no import circle).

``[tracing]`` and ``[metrics]`` are parsed by :mod:`mesh.config.telemetry`; the tracing
layer sits above the config and is imported only by what sets tracing up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import json, sys
import mesh.config
from mesh.config import load_gateway_config, load_node_config
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "opentelemetry"
                or m == "mesh.tracing" or m.startswith("mesh.tracing."))
print(json.dumps(loaded))
"""


def _loaded_after(code: str) -> list[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def test_importing_the_config_loads_no_opentelemetry() -> None:
    assert _loaded_after(PROBE) == []


def test_the_probe_sees_opentelemetry_when_tracing_is_imported() -> None:
    # The same probe after importing the tracing layer: it would have seen a leak.
    loaded = _loaded_after("import mesh.tracing\n" + PROBE)
    assert "mesh.tracing" in loaded
    assert any(name.startswith("opentelemetry") for name in loaded)
