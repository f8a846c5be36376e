"""A run's status as a pure function of time.

pending for PENDING_SECONDS, then running for the technique's duration (x10 with `[slow]` in
a text input), then completed; with `[fail]` the run fails halfway through instead. Seconds
are simulated seconds: FLORA_SANDBOX_SPEEDUP (stored on each run) makes them pass faster.
Because nothing is stored, no worker is needed to move runs along, and a test moves a run
forward by moving sandbox.clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox import catalog
from sandbox.models import SandboxRun

PENDING_SECONDS = 1.0
SLOW_FACTOR = 10
FAIL_AT = 0.5
TERMINAL = frozenset({"completed", "failed"})

FAIL_MARKER = "[fail]"
SLOW_MARKER = "[slow]"
FAILURE_MESSAGE = "The provider failed to complete the generation."


@dataclass(frozen=True)
class Timeline:
    created_at: float
    started_at: float
    ends_at: float
    fails: bool


@dataclass(frozen=True)
class State:
    status: str
    # 0 to 100.
    progress: int
    started_at: float | None
    completed_at: float | None

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL


def _texts(inputs: list[dict]) -> list[str]:
    return [str(item.get("value", "")) for item in inputs if item.get("type") == "text"]


def timeline(run: SandboxRun) -> Timeline:
    technique = catalog.find(run.technique_id)
    duration = technique.duration if technique else 5.0
    texts = _texts(run.inputs)
    fails = any(FAIL_MARKER in text.lower() for text in texts)
    if any(SLOW_MARKER in text.lower() for text in texts):
        duration *= SLOW_FACTOR
    running = duration * (FAIL_AT if fails else 1.0)
    speedup = run.speedup or 1.0
    return Timeline(
        created_at=run.created_at,
        started_at=run.created_at + PENDING_SECONDS / speedup,
        ends_at=run.created_at + (PENDING_SECONDS + running) / speedup,
        fails=fails,
    )


def state_at(run: SandboxRun, now: float) -> State:
    line = timeline(run)
    if now < line.started_at:
        return State("pending", 0, None, None)
    if now < line.ends_at:
        fraction = (now - line.started_at) / (line.ends_at - line.started_at)
        if line.fails:
            fraction *= FAIL_AT
        # Never 100 while running: 100 means done.
        return State("running", min(99, int(fraction * 100)), line.started_at, None)
    if line.fails:
        return State("failed", int(FAIL_AT * 100), line.started_at, line.ends_at)
    return State("completed", 100, line.started_at, line.ends_at)
