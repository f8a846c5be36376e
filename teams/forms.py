from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.views.decorators.debug import sensitive_variables

from teams import services
from teams.models import FloraConnection, SecretKind, validate_secret, validate_workspace_ids

_SPLIT = re.compile(r"[\s,]+")


def _secret_input() -> forms.PasswordInput:
    # render_value=False: a stored secret is never sent back to a browser, not even as
    # dots. new-password stops browsers from filling in the admin's own login password.
    return forms.PasswordInput(
        render_value=False, attrs={"autocomplete": "new-password", "spellcheck": "false"}
    )


class FloraConnectionForm(forms.ModelForm):
    """The connection as an admin edits it. Secrets are write-only: blank keeps them."""

    api_key = forms.CharField(label="API key", required=False, widget=_secret_input())
    webhook_secret = forms.CharField(
        label="Webhook signing secret", required=False, widget=_secret_input()
    )
    clear_webhook_secret = forms.BooleanField(
        label="Remove the webhook signing secret", required=False
    )
    # A text field until a check of the connection has listed the workspaces the key can
    # see; then checkboxes with those (see __init__).
    workspace_ids = forms.CharField(
        label="Workspaces",
        required=False,
        help_text=(
            "Comma-separated workspace ids (ws_...). Save (or Test connection) first to pick "
            "them from the workspaces this key can see."
        ),
    )
    default_workspace_id = forms.CharField(
        label="Default workspace",
        required=False,
        help_text="Leave blank for the first of the workspaces.",
    )

    class Meta:
        model = FloraConnection
        fields = [
            "base_url",
            "api_key",
            "webhook_secret",
            "clear_webhook_secret",
            "workspace_ids",
            "default_workspace_id",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        connection: FloraConnection = self.instance
        self.secret_changes: list[SecretKind] = []

        if connection.has_api_key:
            key_help = (
                f"Current key: {connection.api_key_hint} (write-only). Type a new key to "
                "replace it, or leave blank to keep it."
            )
        else:
            key_help = "Write-only: after saving, only a hint of it is ever shown."
        self.fields["api_key"].help_text = key_help
        if connection.has_webhook_secret:
            secret_help = (
                f"Current secret: {connection.webhook_secret_hint} (write-only). Leave blank "
                "to keep it."
            )
        else:
            secret_help = "Optional (whsec_...): lets the dashboard verify FLORA's webhooks."
        self.fields["webhook_secret"].help_text = secret_help

        current = list(connection.workspace_ids or [])
        available = list(connection.available_workspaces or [])
        if available:
            seen = [item["workspace_id"] for item in available]
            choices = [
                (item["workspace_id"], f"{item['name']} ({item['workspace_id']})")
                for item in available
            ] + [(ws, f"{ws} (not seen at the last check)") for ws in current if ws not in seen]
            self.fields["workspace_ids"] = forms.MultipleChoiceField(
                label="Workspaces",
                choices=choices,
                widget=forms.CheckboxSelectMultiple,
                help_text="The team sees and runs techniques of these workspaces only.",
            )
            self.fields["default_workspace_id"] = forms.ChoiceField(
                label="Default workspace",
                choices=[("", "The first chosen workspace")] + choices,
                required=False,
            )
        else:
            # At least one once the team has workspaces; a brand-new connection may be
            # saved without, to be offered the key's workspaces after the check.
            self.fields["workspace_ids"].required = bool(current)
            self.initial["workspace_ids"] = ", ".join(current)

    @sensitive_variables("value")
    def clean_api_key(self) -> str:
        value = self.cleaned_data.get("api_key", "")
        return validate_secret(value, "API key") if value.strip() else ""

    @sensitive_variables("value")
    def clean_webhook_secret(self) -> str:
        value = self.cleaned_data.get("webhook_secret", "")
        return validate_secret(value, "webhook signing secret") if value.strip() else ""

    def clean_workspace_ids(self) -> list[str]:
        raw = self.cleaned_data.get("workspace_ids") or []
        items = [item for item in _SPLIT.split(raw) if item] if isinstance(raw, str) else raw
        ids = validate_workspace_ids(items)
        if self.fields["workspace_ids"].required and not ids:
            raise ValidationError("Choose at least one workspace.")
        return ids

    @sensitive_variables("cleaned", "api_key")
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not self.instance.has_api_key and not cleaned.get("api_key"):
            self.add_error("api_key", "Enter the team's FLORA API key.")
        if cleaned.get("webhook_secret") and cleaned.get("clear_webhook_secret"):
            self.add_error("clear_webhook_secret", "Either type a new secret or remove it.")
        api_key = cleaned.get("api_key")
        if api_key and not self.errors:
            # Tried before it replaces the working key: a key FLORA refuses would lock every
            # member out at once (GET /workspaces, nothing recorded).
            base_url = cleaned.get("base_url") or self.instance.base_url
            try:
                services.try_key(api_key, base_url=base_url, team_id=self.instance.team_id)
            except ValidationError as exc:
                self.add_error("api_key", exc)
        return cleaned

    @sensitive_variables("api_key", "webhook_secret")
    def save(self, commit: bool = True) -> FloraConnection:
        connection: FloraConnection = super().save(commit=False)
        self.secret_changes = []
        api_key = self.cleaned_data.get("api_key")
        if api_key:
            connection.set_api_key(api_key)
            self.secret_changes.append(SecretKind.API_KEY)
        webhook_secret = self.cleaned_data.get("webhook_secret")
        if webhook_secret:
            connection.set_webhook_secret(webhook_secret)
            self.secret_changes.append(SecretKind.WEBHOOK_SECRET)
        elif self.cleaned_data.get("clear_webhook_secret") and connection.has_webhook_secret:
            connection.clear_webhook_secret()
            self.secret_changes.append(SecretKind.WEBHOOK_SECRET)
        if commit:
            connection.save()
        return connection
