"""Validation of a run request, as strict as the real API (one `fields` entry per problem).

Problems with an input are reported under the input's id (`{"field": "prompt", ...}`), so a
client can show each message beside the form field it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from florasite.lib.net import host_address, is_public_ip, normal_host
from sandbox import asset_urls, catalog
from sandbox.auth import ApiKey, Workspace, visible_workspace
from sandbox.catalog import IMAGE, TEXT, VIDEO, Technique
from sandbox.errors import ApiError, validation_error

RUN_INPUT_TYPES = (TEXT, IMAGE, VIDEO)
WRONG_INPUT_TYPE = "Run inputs accept only the types text, imageUrl, videoUrl"
MAX_TEXT = 4000
MAX_URL = 2048
MAX_IDEMPOTENCY_KEY = 255
# `accepts_element` inputs may name an element instead of a URL.
ELEMENT_ID = re.compile(r"^el_[A-Za-z0-9_-]{1,64}$")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class RunRequest:
    technique: Technique
    workspace: Workspace
    project_id: str
    inputs: list[dict]
    callback_url: str
    idempotency_key: str


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def resolve_workspace(key: ApiKey, technique: Technique, body: dict) -> tuple[Workspace, str]:
    """The run's workspace and project: as given, else the first that can run the technique."""
    workspace_id = body.get("workspace_id")
    project_id = body.get("project_id")
    if workspace_id is not None and not isinstance(workspace_id, str):
        raise validation_error([_problem("workspace_id", "Expected a string")])
    if project_id is not None and not isinstance(project_id, str):
        raise validation_error([_problem("project_id", "Expected a string")])
    workspace = None
    if workspace_id:
        workspace = visible_workspace(key, workspace_id)
    if project_id:
        owner = key.project_workspace(project_id)
        if owner is None:
            raise ApiError(403, "forbidden", f"This API key cannot access project {project_id}.")
        if workspace is not None and owner != workspace:
            raise validation_error(
                [_problem("project_id", f"Project {project_id} is not in workspace {workspace_id}")]
            )
        workspace = owner
    if workspace is None:
        workspace = next((ws for ws in key.workspaces if catalog.in_workspace(technique, ws)), None)
    if workspace is None or not catalog.in_workspace(technique, workspace):
        raise ApiError(404, "not_found", f"Technique {technique.technique_id} not found.")
    return workspace, project_id or workspace.projects[0]


def validate_run_request(
    key: ApiKey,
    technique: Technique,
    body: dict,
    header_key: str | None,
    *,
    origin: str | None = None,
) -> RunRequest:
    """`origin` is the sandbox's own (scheme://host/ of the request): its asset URLs are
    checked against the asset (sandbox.asset_urls) instead of being required to be https."""
    workspace, project_id = resolve_workspace(key, technique, body)
    problems: list[dict[str, str]] = []

    mode = body.get("mode")
    if mode is None:
        problems.append(_problem("mode", "Required"))
    elif mode == "stream":
        problems.append(
            _problem("mode", 'Streaming runs are not available yet; use mode "async" and poll')
        )
    elif mode != "async":
        problems.append(_problem("mode", 'Expected "async"'))

    inputs = _validate_inputs(technique, body.get("inputs"), problems, key, origin)
    callback_url = _validate_callback_url(body.get("callback_url"), problems)
    idempotency_key = _validate_idempotency_key(body.get("idempotency_key"), header_key, problems)

    if problems:
        raise validation_error(problems)
    return RunRequest(technique, workspace, project_id, inputs, callback_url, idempotency_key)


def _validate_inputs(
    technique: Technique,
    raw: object,
    problems: list[dict[str, str]],
    key: ApiKey | None = None,
    origin: str | None = None,
) -> list:
    if raw is None:
        problems.append(_problem("inputs", "Required"))
        return []
    if not isinstance(raw, list):
        problems.append(_problem("inputs", "Expected an array"))
        return []
    inputs: list[dict] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"inputs[{index}]"
        if not isinstance(item, dict):
            problems.append(_problem(where, "Expected an object with id, type and value"))
            continue
        shape_ok = True
        for name in ("id", "type", "value"):
            if name not in item:
                problems.append(_problem(f"{where}.{name}", "Required"))
                shape_ok = False
            elif not isinstance(item[name], str):
                problems.append(_problem(f"{where}.{name}", "Expected a string"))
                shape_ok = False
        if not shape_ok:
            continue
        input_id, kind, value = item["id"], item["type"], item["value"]
        workspace_ids = key.workspace_ids if key is not None else []
        message = _input_problem(technique, input_id, kind, value, seen, workspace_ids, origin)
        seen.add(input_id)
        if message:
            problems.append(_problem(input_id, message))
            continue
        inputs.append({"id": input_id, "type": kind, "value": value})
    for schema in technique.inputs:
        if not schema.optional and schema.id not in seen:
            problems.append(_problem(schema.id, "Required"))
    return inputs


def _input_problem(
    technique: Technique,
    input_id: str,
    kind: str,
    value: str,
    seen: set[str],
    workspace_ids: list[str] | None = None,
    origin: str | None = None,
) -> str | None:
    schema = technique.input(input_id)
    if schema is None:
        known = ", ".join(item.id for item in technique.inputs)
        return f"Unknown input for {technique.technique_id} (expected one of: {known})"
    if kind not in RUN_INPUT_TYPES:
        return f"{WRONG_INPUT_TYPE}; got {kind}"
    if schema.type not in RUN_INPUT_TYPES:
        return f"{WRONG_INPUT_TYPE}; this input is {schema.type} and cannot be sent through the API"
    if kind != schema.type:
        return f"Expected type {schema.type}, got {kind}"
    if input_id in seen and not schema.allow_multiple:
        return "Given more than once"
    if not value.strip():
        return "Must not be empty (leave an optional input out instead)"
    if kind == TEXT:
        if len(value) > MAX_TEXT:
            return f"At most {MAX_TEXT} characters"
        if schema.choices and value.strip() not in schema.choices:
            return "Expected one of " + ", ".join(schema.choices)
        return None
    if schema.accepts_element and ELEMENT_ID.match(value):
        return None
    if asset_urls.own_asset(value, origin):
        # The sandbox's own asset URL (plain http in local runs): checked against the asset.
        return asset_urls.input_problem(value, kind, workspace_ids or [], origin)
    return _media_url_problem(value)


def _media_url_problem(value: str) -> str | None:
    if value.lower().startswith("data:"):
        return "data: URLs are not accepted; upload the file and pass its https:// URL"
    if len(value) > MAX_URL:
        return f"At most {MAX_URL} characters"
    try:
        parts = urlsplit(value)
    except ValueError:
        return "Expected an https:// URL"
    if parts.scheme.lower() != "https" or not parts.hostname:
        return "Expected an https:// URL"
    return None


def _validate_callback_url(raw: object, problems: list[dict[str, str]]) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str) or not raw.strip():
        problems.append(_problem("callback_url", "Expected an https:// URL"))
        return ""
    if len(raw) > MAX_URL:
        problems.append(_problem("callback_url", f"At most {MAX_URL} characters"))
        return ""
    message = callback_problem(raw)
    if message:
        problems.append(_problem("callback_url", message))
        return ""
    return raw


def callback_problem(url: str) -> str | None:
    """Why FLORA would refuse this callback_url, or None; also checked again at delivery."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return "Expected an https:// URL"
    if not host or parts.scheme.lower() not in ("http", "https"):
        return "Expected an https:// URL"
    # Local development and tests may receive webhooks on this machine, over plain http.
    if is_local_callback(host):
        return None
    if parts.scheme.lower() != "https":
        return "Expected an https:// URL"
    if _is_internal(host):
        return "Callback URLs must not point at private or internal hosts"
    return None


def is_local_callback(host: str) -> bool:
    """The one exception to the rules: webhooks to this machine, when the setting allows.

    Only the plain spellings count (127.0.0.1, localhost, ::1): local development and the
    tests configure exactly those, and `127.1` or `localhost.` must not slip through.
    """
    return settings.FLORA_SANDBOX_ALLOW_HTTP_CALLBACKS and host.lower() in LOCAL_HOSTS


def _is_internal(host: str) -> bool:
    address = host_address(host)
    if address is not None:
        return not is_public_ip(address)
    name = normal_host(host)
    if name.endswith((".local", ".internal")):
        return True
    return "." not in name  # a bare name only resolves inside a private network


def _validate_idempotency_key(
    body_key: object, header_key: str | None, problems: list[dict[str, str]]
) -> str:
    if body_key is not None and not isinstance(body_key, str):
        problems.append(_problem("idempotency_key", "Expected a string"))
        return ""
    header_key = (header_key or "").strip()
    body_key = (body_key or "").strip()
    if header_key and body_key and header_key != body_key:
        problems.append(
            _problem("idempotency_key", "Differs from the Idempotency-Key header; send one key")
        )
        return ""
    key = header_key or body_key
    if len(key) > MAX_IDEMPOTENCY_KEY:
        problems.append(_problem("idempotency_key", f"At most {MAX_IDEMPOTENCY_KEY} characters"))
        return ""
    return key
