"""The README's example runs as documented: one command, against the embedded sandbox."""

from __future__ import annotations

import subprocess
import sys

from tests.e2e import ROOT


def test_the_support_agent_answers_both_customers() -> None:
    done = subprocess.run(
        [sys.executable, "examples/support_agent.py", "--demo"],
        cwd=str(ROOT),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    answers = done.stdout.strip().splitlines()
    assert answers == [
        "messaging:support-dana: 'How do I get a refund?' -> "
        "'Refunds go back to the original card within 5 business days.'",
        "messaging:support-eli: 'Are you open now?' -> "
        "'We answer around the clock; a person joins weekdays 9-17 CET.'",
    ]
