"""The sandbox's notion of "now".

Every sandbox module reads the time through `clock.now()` (never `time.time()` directly), so
a test can replace this one function (`monkeypatch.setattr("sandbox.clock.now", ...)`, or
`sandbox.testing.FrozenClock`) and move every run through its lifecycle without sleeping.
"""

from __future__ import annotations

import time


def now() -> float:
    """Unix time in seconds."""
    return time.time()
