#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

# What Django answers with help (or the version) and nothing else.
_HELP_WORDS = {"help", "--help", "-h", "version", "--version"}


def _asks_only_for_help(argv: list[str]) -> bool:
    words = argv[1:]
    if "--" in words:
        # After "--" a word is an argument of the command, not an option.
        words = words[: words.index("--")]
    if not words:
        return True
    if words[0] in _HELP_WORDS:
        return True
    return "--help" in words[1:] or "-h" in words[1:]


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "florasite.settings")
    import florasite

    florasite.HELP_ONLY = _asks_only_for_help(sys.argv)

    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A setting missing or malformed: one line saying which, not a traceback.
        sys.exit(f"manage.py: {exc}")


if __name__ == "__main__":
    main()
