"""docs/benchmarks.md: the machine line, and the sections that each script owns.

``make bench`` (benchmarks/run.py) writes the file from its top; ``make soak``
(benchmarks/soak.py) owns the section under :data:`SOAK_HEADING`, ``make
profile`` (benchmarks/profile_paths.py) the one under :data:`PROFILE_HEADING`
and ``make bench-scale`` (benchmarks/scale.py) the one under
:data:`SCALE_HEADING`, which a ``make bench`` keeps as they were.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
SOAK_HEADING = "## Soak (make soak)"
PROFILE_HEADING = "## Profiles (make profile)"
SCALE_HEADING = "## Scale (make bench-scale)"
#: Sections that make bench keeps as they were: other scripts own them.
KEPT_HEADINGS = (PROFILE_HEADING, SCALE_HEADING, SOAK_HEADING)


def machine() -> str:
    """The CPU model, cores, Python and OS, for the line that opens a section."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def section(text: str, heading: str) -> list[str]:
    """The lines of the ``## `` section under ``heading`` (heading included), up to
    the next ``## `` heading; empty when there is none."""
    lines = text.splitlines()
    if heading not in lines:
        return []
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return lines[start:end]


def put_section(text: str, heading: str, new: list[str]) -> str:
    """``text`` with the section under ``heading`` replaced by ``new`` (appended
    when there is none)."""
    old = section(text, heading)
    lines = text.splitlines()
    if not old:
        return "\n".join([*lines, "", *new]).strip("\n") + "\n"
    start = lines.index(heading)
    return "\n".join([*lines[:start], *new, *lines[start + len(old) :]]).strip("\n") + "\n"
