"""What each run of a batch is given: lines of text, a CSV's rows, a board's outputs.

A plan is runs.submit's: one list of inputs per run, `{"id", "type", "value"}`; a media
input taken from a kept file says so with `"ref"` (an upload's or a kept output's, as the
run form names them) and an empty value, which the worker fills with the file's FLORA asset
just before the run starts (batches.worker). Every problem is a PlanError naming the row and
column, and nothing is written.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from io import StringIO

from flora import Technique, TechniqueIO
from florasite.lib.net import http_url
from techniques.fields import RUN_INPUT_TYPES
from techniques.media import kind_of

__all__ = ["MAX_ROWS", "CsvPlan", "PlanError", "plan_from_csv", "plan_from_lines", "plan_of_refs"]

# No batch is longer (a bigger job is several batches); the approval limit is lower.
MAX_ROWS = 1000
PREVIEW_ROWS = 5
MEDIA_TYPES = frozenset({"imageUrl", "videoUrl"})

Plan = list[list[dict[str, str]]]


class PlanError(ValueError):
    def __init__(self, messages: list[str]) -> None:
        super().__init__(" ".join(messages))
        self.messages = messages


@dataclass
class CsvPlan:
    plan: Plan
    # (CSV column, the input it fills), in the CSV's order.
    mapping: list[tuple[str, str]]
    preview: list[list[str]] = field(default_factory=list)


def _runnable(technique: Technique) -> list[TechniqueIO]:
    blocking = [io for io in technique.inputs if io.type not in RUN_INPUT_TYPES and not io.optional]
    if blocking:
        names = ", ".join(io.name for io in blocking)
        raise PlanError([f"{technique.name} needs {names}, which cannot be given from here."])
    return [io for io in technique.inputs if io.type in RUN_INPUT_TYPES]


def _value_error(io: TechniqueIO, value: str) -> str:
    if io.type in MEDIA_TYPES and not http_url(value):
        return f"“{value[:80]}” is not a web address (http or https) for {io.name}"
    return ""


def _too_many(count: int) -> PlanError:
    return PlanError(
        [
            f"That is {count} runs; a batch has at most {MAX_ROWS}. Split it into several "
            "batches. Nothing was started."
        ]
    )


def _column_for(header: str, inputs: list[TechniqueIO]) -> TechniqueIO | None:
    wanted = header.strip().casefold()
    for io in inputs:
        if wanted in (io.id.casefold(), io.name.casefold()):
            return io
    return None


def plan_from_csv(technique: Technique, text: str) -> CsvPlan:
    """One run per CSV row; each column is named by an input's id or name."""
    inputs = _runnable(technique)
    reader = csv.reader(StringIO(text.lstrip("\ufeff")))
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as exc:
        message = f"The file could not be read as CSV ({exc}). Nothing was started."
        raise PlanError([message]) from None
    if not rows:
        raise PlanError(["The CSV is empty: it needs a header row and one row per run."])
    header, body = rows[0], rows[1:]
    errors: list[str] = []
    columns: list[TechniqueIO] = []
    for number, name in enumerate(header, start=1):
        match = _column_for(name, inputs)
        if match is None:
            known = ", ".join(f"{io.id} ({io.name})" for io in inputs)
            errors.append(f"Column {number} “{name[:60]}” is no input of this technique: {known}.")
        elif match in columns:
            errors.append(f"Two columns fill {match.name}.")
        else:
            columns.append(match)
    for io in inputs:
        if not io.optional and io not in columns:
            errors.append(f"Missing column: {io.name} (“{io.id}”) is required.")
    if errors:
        raise PlanError(errors)
    if not body:
        raise PlanError(["The CSV has a header but no rows: nothing to run."])
    if len(body) > MAX_ROWS:
        raise _too_many(len(body))
    plan: Plan = []
    for line, row in enumerate(body, start=2):
        if len(row) > len(columns):
            errors.append(f"Row {line} has {len(row)} cells; the header names {len(columns)}.")
            continue
        cells = [*row, *[""] * (len(columns) - len(row))]
        items = []
        for io, cell in zip(columns, cells, strict=True):
            value = cell.strip()
            if not value:
                if not io.optional:
                    errors.append(f"Row {line}: {io.name} is empty.")
                continue
            if problem := _value_error(io, value):
                errors.append(f"Row {line}: {problem}.")
            items.append({"id": io.id, "type": io.type, "value": value})
        plan.append(items)
        if len(errors) >= 20:
            errors.append("(and perhaps more: fix these first)")
            break
    if errors:
        raise PlanError(errors)
    mapping = [(name.strip(), io.name) for name, io in zip(header, columns, strict=True)]
    return CsvPlan(plan, mapping, [row[: len(columns)] for row in body[:PREVIEW_ROWS]])


def plan_from_lines(technique: Technique, input_id: str, text: str) -> Plan:
    """One run per non-empty line, each line the value of one text input."""
    inputs = _runnable(technique)
    target = next((io for io in inputs if io.id == input_id), None)
    if target is None or target.type != "text":
        raise PlanError(["Choose which text input the lines fill."])
    others = [io for io in inputs if io is not target and not io.optional]
    if others:
        names = ", ".join(io.name for io in others)
        raise PlanError([f"This technique also needs {names}: use a CSV with one column each."])
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise PlanError(["Write at least one line: each line is one run."])
    if len(lines) > MAX_ROWS:
        raise _too_many(len(lines))
    return [[{"id": target.id, "type": target.type, "value": line}] for line in lines]


def plan_of_refs(technique: Technique, input_id: str, refs: list[str]) -> Plan:
    """One run per kept file (an upload or an output), each given to one media input."""
    inputs = _runnable(technique)
    target = next((io for io in inputs if io.id == input_id), None)
    if target is None or target.type not in MEDIA_TYPES:
        raise PlanError(["Choose which image or video input the files go to."])
    others = [io for io in inputs if io is not target and not io.optional]
    if others:
        names = ", ".join(io.name for io in others)
        raise PlanError([f"This technique also needs {names}; a batch of files gives only one."])
    if not refs:
        raise PlanError([f"There is no {kind_of(target.type)} to run on."])
    if len(refs) > MAX_ROWS:
        raise _too_many(len(refs))
    return [[{"id": target.id, "type": target.type, "value": "", "ref": ref}] for ref in refs]
