"""Timed processes run with compiled bytecode, as an installer leaves an environment.

A machine may set ``PYTHONDONTWRITEBYTECODE`` (this one does) and have environments
installed without bytecode; each timed process would then compile every module it
imports (several CPU seconds for NumPy, pandas, SciPy, Ibis), which no user of a pip
or uv install pays.  So the benchmarks compile the bytecode once, untimed, into
``PYCACHE`` (outside the environments), and run every timed process with it.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

#: Compiled bytecode of every timed process goes here.
PYCACHE = Path(__file__).parent / "_data" / "pycache"


def bytecode_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: this process's environment) with the bytecode cache on."""
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def compile_bytecode(python: Path | str = sys.executable) -> None:
    """Compile the bytecode of ``python``'s environment (and of regulars) into ``PYCACHE``."""
    extra = []
    if python == sys.executable:  # regulars itself may be on PYTHONPATH, not installed
        spec = importlib.util.find_spec("regulars")
        if spec is not None and spec.origin is not None:
            extra.append(str(Path(spec.origin).parent))
    code = (
        "import compileall, site, sys\n"
        "for d in site.getsitepackages() + sys.argv[1:]:\n"
        "    compileall.compile_dir(d, quiet=2, workers=1)\n"
    )
    subprocess.run([str(python), "-c", code, *extra], env=bytecode_env(), check=False)
