__version__ = "0.1.0"

# True only when manage.py was asked for help and nothing else (manage.py sets it before the
# settings load). The settings then accept missing secrets, so `manage.py <command> --help`
# works on a machine without them; no command runs in that process. Deliberately not an
# environment variable: nothing outside this process can switch the refusal off.
HELP_ONLY = False
