"""How much memory and spill space an import may use.

DuckDB keeps what fits under its memory limit and spills the rest to the
workspace's temporary folder (``regulars.duckdb.tmp-<pid>``), so an import of any size
runs in bounded memory.  The limit comes from, in this order: the ``memory``
argument (``regulars import --memory``), the environment variable
``REGULARS_IMPORT_MEMORY``, ``[import] memory`` in ``regulars.toml``, and the
default, an eighth of the machine's memory (the container's limit when it has
one) between 1 GiB and 16 GiB.  Spill files are bounded the same way by
``[import] spill`` (default: half of the free disk space of the workspace).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from regulars.config import parse_size
from regulars.errors import ConfigError

__all__ = [
    "ENV_VAR",
    "ImportBudget",
    "budget",
    "chosen_memory",
    "default_memory",
    "machine_memory",
    "parse_size",
]

ENV_VAR = "REGULARS_IMPORT_MEMORY"
SPILL_ENV_VAR = "REGULARS_IMPORT_SPILL"
GiB = 1024**3
MIN_MEMORY = 256 * 1024**2
MIN_SPILL = 1 * GiB


def machine_memory() -> int:
    """The memory this process may use: physical memory, or the container's limit."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < total:
            total = int(text)
    return int(total)


def default_memory(total: int) -> int:
    """An eighth of ``total``, between 1 GiB and 16 GiB (and never above half)."""
    return max(min(total // 8, 16 * GiB), min(GiB, total // 2))


def chosen_memory(
    sources: tuple[tuple[str | None, str], ...], total: int
) -> tuple[int, str, str] | None:
    """The first memory size the ``(text, where)`` pairs set, with that text and where.

    The pairs come in order of precedence (a command-line option, an environment
    variable, a ``regulars.toml`` setting); ``None`` and ``"auto"`` set nothing, and a
    fraction is of ``total``.  None when no source sets a size (then the caller's
    default applies).  A text that is not a size is a :class:`ConfigError` naming
    ``where``.
    """
    for text, where in sources:
        if text is None:
            continue
        chosen = parse_size(text, where=where, of=total)
        if chosen is not None:
            return chosen, where, text
    return None


@dataclass(frozen=True)
class ImportBudget:
    """DuckDB's memory limit and spill limit during one import, and where they came from."""

    memory: int
    memory_source: str
    spill: int
    spill_source: str

    @property
    def memory_text(self) -> str:
        return _human(self.memory)

    @property
    def spill_text(self) -> str:
        return _human(self.spill)


def _human(n: int) -> str:
    if n >= GiB:
        return f"{n / GiB:.1f} GiB"
    return f"{n / 1024**2:.0f} MiB"


def budget(
    workspace_path: Path,
    *,
    memory: str | None = None,
    config_memory: str = "auto",
    config_spill: str = "auto",
) -> ImportBudget:
    """The limits of an import into the workspace at ``workspace_path``."""
    total = machine_memory()
    found = chosen_memory(
        (
            (memory, "--memory"),
            (os.environ.get(ENV_VAR), ENV_VAR),
            (config_memory, "[import] memory"),
        ),
        total,
    )
    if found is None:
        chosen, source = default_memory(total), "the default (an eighth of the machine's memory)"
    else:
        chosen, source, _ = found
    if chosen < MIN_MEMORY:
        raise ConfigError(
            f"{source} = {_human(chosen)} is too small for an import: give it at least "
            f'256 MiB (for example "1GiB"; the default is {_human(default_memory(total))}).'
        )
    free = _free_disk(workspace_path)
    spill_text, spill_source = os.environ.get(SPILL_ENV_VAR, ""), SPILL_ENV_VAR
    if not spill_text:
        spill_text, spill_source = config_spill, "[import] spill"
    spill = parse_size(spill_text, where=spill_source, of=free)
    if spill is None:
        spill, spill_source = max(free // 2, MIN_SPILL), "the default (half the free disk space)"
    return ImportBudget(chosen, source, spill, spill_source)


def _free_disk(path: Path) -> int:
    try:
        return int(shutil.disk_usage(path).free)
    except OSError:
        return 0
