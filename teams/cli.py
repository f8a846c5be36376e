"""Shared by the management commands: reading secrets and reporting bad input.

Secrets come from a file or stdin ("-"), never from argv: argv is visible to every user
of the machine (ps, /proc) and lands in shell history.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.views.decorators.debug import sensitive_variables

from teams.models import validate_secret

# Who appears in the audit trail for changes made from the command line.
COMMAND_LINE_ACTOR = "command-line"


def bad_input(message: str) -> CommandError:
    """A one-line error, exit status 2 (like argparse's own usage errors)."""
    return CommandError(message, returncode=2)


def validation_message(error: ValidationError) -> str:
    return " ".join(error.messages)


@sensitive_variables("text", "value")
def read_secret(source: str, label: str, option: str, *, password: bool = False) -> str:
    """The secret in file `source` (or stdin for "-"), validated; bad_input otherwise.

    A password may contain spaces: only its line ending is removed.
    """
    if source == "-":
        text = sys.stdin.read()
        where = "stdin"
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise bad_input(f"{option}: {source} does not exist.") from None
        except IsADirectoryError:
            raise bad_input(f"{option}: {source} is a directory, not a file.") from None
        except PermissionError:
            raise bad_input(f"{option}: {source} cannot be read (permission denied).") from None
        except UnicodeDecodeError:
            raise bad_input(f"{option}: {source} is not a UTF-8 text file.") from None
        except OSError as exc:
            raise bad_input(f"{option}: {source} cannot be read ({exc.strerror}).") from None
        where = source
    if password:
        value = text.removesuffix("\n").removesuffix("\r")
        if not value or "\n" in value:
            raise bad_input(f"{option}: the {label} must be one non-empty line (read from {where})")
        return value
    try:
        value = validate_secret(text, label)
    except ValidationError as exc:
        raise bad_input(f"{option}: {validation_message(exc)} (read from {where})") from None
    return value


def check_stdin_once(*sources: str | None) -> None:
    if sum(1 for source in sources if source == "-") > 1:
        raise bad_input("Only one secret can come from stdin (-); put the others in files.")
