"""The compiled engine: every extension is built, the sensor commands never load numba, and a
missing build is reported in one line."""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from hedgerow.native import MODULES

REPO = Path(__file__).resolve().parents[2]

RUN_WITHOUT = r"""
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == sys.argv[1]:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Block())
from hedgerow.cli.main import main
main(sys.argv[2:])
"""

RUN_AND_LIST = r"""
import sys
from hedgerow.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
print(code, sorted({name.split(".")[0] for name in sys.modules}))
"""


def test_every_extension_is_built_from_its_source() -> None:
    sources = {
        ".".join(path.relative_to(REPO / "src").with_suffix("").parts)
        for path in (REPO / "src" / "hedgerow").rglob("*.pyx")
    }
    assert sources == set(MODULES)
    setup = (REPO / "setup.py").read_text()
    for name in MODULES:
        module = importlib.import_module(name)
        assert module.__file__ is not None and module.__file__.endswith(tuple(EXTENSION_SUFFIXES))
        assert f'"{name}"' in setup


@pytest.mark.parametrize("module", ["hedgerow.capture._walk", "hedgerow.flows._meter"])
def test_missing_engine_is_one_line(tmp_path: Path, corpus: Path, module: str) -> None:
    capture = corpus / "zeek-conn/core.q-in-q/q-in-q.pcap"
    for command in (["flows", str(capture), "-o", str(tmp_path / "c.log")],
                    ["scan", str(capture), "-o", str(tmp_path / "scan")]):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-c", RUN_WITHOUT, module, *command],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert result.returncode == 2, result.stderr[-2000:]
        lines = result.stderr.splitlines()
        assert len(lines) == 1, result.stderr[-2000:]
        assert lines[0].startswith(f"hedgerow {command[0]}: error: the compiled packet/flow engine")
        assert module in lines[0] and "apt-get install gcc python3-dev" in lines[0]


@pytest.mark.slow
def test_sensor_commands_never_import_numba(tmp_path: Path, corpus: Path) -> None:
    capture = corpus / "zeek-conn/core.q-in-q/q-in-q.pcap"
    for command in (["flows", str(capture), "-o", str(tmp_path / "c.log")],
                    ["flows", str(capture), "-o", str(tmp_path / "c.parquet")],
                    ["info", str(capture)],
                    ["scan", str(capture), "-o", str(tmp_path / "scan")]):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-c", RUN_AND_LIST, *command],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        code, modules = result.stdout.splitlines()[-1].split(" ", 1)
        assert code in ("0", "None"), result.stderr[-2000:]
        assert "'hedgerow'" in modules and "'numba'" not in modules, command
        assert "'llvmlite'" not in modules, command


def test_the_live_sensor_stack_never_imports_numba() -> None:
    """What ``hedgerow sense`` imports to run (it needs root and an interface to go further)."""
    code = (
        "import sys, hedgerow.cli.sense, hedgerow.sense.alertlog, hedgerow.sense.analyze, "
        "hedgerow.sense.devices, hedgerow.sense.live, hedgerow.sense.metrics, "
        "hedgerow.sense.sensor; print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert "'hedgerow'" in result.stdout and "'numba'" not in result.stdout
