"""The core depends on the standard library only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
before = set(sys.modules)
import pocketflow
loaded = sorted(set(sys.modules) - before)
print(json.dumps(loaded))
"""


def test_import_pocketflow_loads_only_the_standard_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = json.loads(result.stdout)
    assert "pocketflow" in loaded
    foreign = [
        name
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names and name.split(".")[0] != "pocketflow"
    ]
    assert foreign == []


def test_core_sources_import_nothing_outside_the_standard_library() -> None:
    import ast

    for path in sorted((ROOT / "pocketflow").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "pocketflow", (path.name, name)
