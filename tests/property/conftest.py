"""The property tier: hypothesis state machines against the real API.

How many sequences each machine ran is printed at the end of the run, even
under ``pytest -q``, so a CI log shows the depth of the check it passed.
"""

from __future__ import annotations

from typing import Any

#: Filled by the machines: name -> (sequences, steps, seconds).
RUNS: dict[str, tuple[int, int, float]] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for name, (sequences, steps, seconds) in sorted(RUNS.items()):
        terminalreporter.write_line(
            f"{name}: {sequences} sequences, {steps} steps, {seconds:.0f} s"
        )
