"""README's settings table names every variable the settings and gunicorn config read, and
only those, with the defaults they have in the code."""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READERS = {"env_str", "env_bool", "env_int", "env_float", "env_list", "env_secret", "env_url"}
SOURCES = [ROOT / "florasite" / "settings.py", ROOT / "florasite" / "gunicorn.conf.py"]
_ARITHMETIC = {ast.Mult: operator.mul, ast.Add: operator.add, ast.Sub: operator.sub}


def _constant(node: ast.AST) -> object:
    """A literal default (numbers may be written as products: 2 * 60 * 60), else None."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:
        left, right = _constant(node.left), _constant(node.right)
        if isinstance(left, int | float) and isinstance(right, int | float):
            return _ARITHMETIC[type(node.op)](left, right)
    return None


def read_variables() -> dict[str, object]:
    """Every variable the sources read through florasite.env: name -> literal default."""
    found: dict[str, object] = {}
    for source in SOURCES:
        for node in ast.walk(ast.parse(source.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in READERS or not node.args:
                continue
            name = _constant(node.args[0])
            assert isinstance(name, str), f"{source.name}: a variable named at run time"
            default = node.args[1] if len(node.args) > 1 else None
            for keyword in node.keywords:
                if keyword.arg == "default":
                    default = keyword.value
            found[name] = _constant(default) if default is not None else None
            if node.func.id == "env_secret":
                found[f"{name}_FILE"] = None
    return found


def documented_variables() -> dict[str, str]:
    """The settings table of README.md: variable -> its default cell."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Settings", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    table: dict[str, str] = {}
    for row in rows:
        names_cell, default_cell = (cell.strip() for cell in row.strip("|").split("|")[:2])
        names: list[str] = []
        for name in re.findall(r"`([A-Z][A-Z0-9_]*|_FILE)`", names_cell):
            # `FLORASITE_ENCRYPTION_KEYS` / `_FILE`: the suffix belongs to the name before.
            names.append(names[-1] + name if name.startswith("_") else name)
        defaults = [part.strip() for part in default_cell.split(",")]
        for position, name in enumerate(names):
            table[name] = defaults[position] if len(defaults) == len(names) else default_cell
    return table


def test_the_settings_read_variables():
    # The parser's own check: it sees the variables it must.
    read = read_variables()
    assert {"DEBUG", "SECRET_KEY_FILE", "DATABASE_URL", "GUNICORN_WORKERS"} <= set(read)


def test_every_variable_read_is_in_the_readme_table():
    missing = sorted(set(read_variables()) - set(documented_variables()))
    assert missing == [], "add these to README.md's settings table"


def test_every_variable_in_the_readme_table_is_read():
    unknown = sorted(set(documented_variables()) - set(read_variables()))
    assert unknown == [], "README.md documents variables nothing reads"


def test_the_readme_gives_the_defaults_in_the_code():
    table = documented_variables()
    wrong = {}
    for name, default in read_variables().items():
        cell = table.get(name, "")
        if isinstance(default, bool):
            ok = f"`{str(default).lower()}`" in cell
        elif isinstance(default, int | float):
            number = re.search(r"-?\d+(\.\d+)?", cell)
            ok = number is not None and float(number.group()) == default
        elif isinstance(default, str) and default:
            ok = default in cell
        else:
            continue  # no default, or one computed at start-up (paths, hosts)
        if not ok:
            wrong[name] = (default, cell)
    assert wrong == {}
