"""Logging filters: capability tokens in URLs never reach a log line."""

from __future__ import annotations

import logging
import re

# Share links (/s/<token>) and webhook receivers (/hooks/flora/<token>) are capabilities.
_TOKEN_PATH = re.compile(r"(/s/|/hooks/flora/)([A-Za-z0-9_\-]{6})[A-Za-z0-9_\-]*")


def redact(text: str) -> str:
    return _TOKEN_PATH.sub(lambda m: f"{m.group(1)}{m.group(2)}…", text)


class RedactTokensFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
