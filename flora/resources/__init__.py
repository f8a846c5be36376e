from __future__ import annotations

from .runs import Runs
from .techniques import Techniques
from .workspaces import Workspaces

__all__ = ["Runs", "Techniques", "Workspaces"]
