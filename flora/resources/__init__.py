from __future__ import annotations

from .assets import Assets
from .runs import Runs
from .techniques import Techniques
from .workspaces import Workspaces

__all__ = ["Assets", "Runs", "Techniques", "Workspaces"]
