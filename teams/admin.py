"""The staff's console for teams, members and FLORA connections.

Secrets are write-only here: the forms never render them (password inputs without
value), POST data of these pages is hidden from error reports, and each change is audited.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from teams import services
from teams.admin_checks import check_and_report as _check_and_report
from teams.admin_checks import needs_workspaces as _needs_workspaces
from teams.forms import FloraConnectionForm
from teams.models import (
    FloraConnection,
    Membership,
    SecretChange,
    Team,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]


class FloraConnectionInline(admin.StackedInline):
    model = FloraConnection
    form = FloraConnectionForm
    can_delete = False
    min_num = 0
    max_num = 1
    extra = 1
    verbose_name = "FLORA connection"
    verbose_name_plural = "FLORA connection"
    readonly_fields = ["status_report", "available_workspaces_list"]
    fieldsets = [
        (None, {"fields": ["base_url", "api_key", "webhook_secret", "clear_webhook_secret"]}),
        ("Workspaces", {"fields": ["workspace_ids", "default_workspace_id"]}),
        ("Last check", {"fields": ["status_report", "available_workspaces_list"]}),
    ]

    def get_fieldsets(self, request: HttpRequest, obj: Team | None = None) -> list:
        fieldsets = super().get_fieldsets(request, obj)
        connection = getattr(obj, "connection", None) if obj is not None else None
        if connection is not None and connection.has_webhook_secret:
            return fieldsets
        # Nothing to remove: don't offer it.
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f != "clear_webhook_secret"]})
            for name, opts in fieldsets
        ]

    @admin.display(description="Status")
    def status_report(self, connection: FloraConnection) -> str:
        if connection.pk is None:
            return "Not checked yet: the connection is tested when you save."
        parts = [connection.get_status_display()]
        if connection.last_checked_at:
            parts.append(f"checked {connection.last_checked_at:%Y-%m-%d %H:%M:%S %Z}")
        if connection.last_error:
            parts.append(f"error: {connection.last_error}")
        if connection.last_request_id:
            parts.append(f"request id {connection.last_request_id}")
        return " · ".join(parts)

    @admin.display(description="Workspaces this key can see")
    def available_workspaces_list(self, connection: FloraConnection) -> str:
        if not connection.available_workspaces:
            return "Unknown until the connection is tested."
        return format_html_join(
            ", ",
            "{} <code>{}</code>",
            (
                (ws.get("name", ""), ws.get("workspace_id", ""))
                for ws in connection.available_workspaces
            ),
        )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "member_count",
        "connection_status",
        "key_hint",
        "workspaces",
        "created_at",
    ]
    list_filter = ["connection__status", "created_at"]
    search_fields = ["name", "slug", "connection__api_key_hint", "memberships__user__username"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["webhook_url", "created_at"]
    fields = ["name", "slug", "time_zone", "webhook_url", "created_at"]
    inlines = [FloraConnectionInline, MembershipInline]
    actions = ["test_connection"]
    change_form_template = "admin/teams/team/change_form.html"

    def get_fields(self, request: HttpRequest, obj: Team | None = None) -> list[str]:
        # Before saving there is no webhook URL or creation date to show.
        return ["name", "slug", "time_zone"] if obj is None else list(self.fields)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # What a team's delete cascades to is the team's own. Some of it is never deleted
        # row by row in the admin (the connection, the budgets' ledger, balances and alerts:
        # read-only records), which Django would count as permissions nobody has, making
        # every team that ever ran undeletable. PROTECT references still stop the delete.
        # The team's stored files leave storage in the worker once it commits
        # (florasite.discards).
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return (
            super()
            .get_queryset(request)
            .select_related("connection")
            .annotate(member_total=Count("memberships", distinct=True))
        )

    @admin.display(description="Members", ordering="member_total")
    def member_count(self, team: Team) -> int:
        return team.member_total  # type: ignore[attr-defined]

    @admin.display(description="FLORA", ordering="connection__status")
    def connection_status(self, team: Team) -> str:
        connection = getattr(team, "connection", None)
        return connection.get_status_display() if connection else "Not connected"

    @admin.display(description="API key", ordering="connection__api_key_hint")
    def key_hint(self, team: Team) -> str:
        connection = getattr(team, "connection", None)
        return connection.api_key_hint if connection else ""

    @admin.display(description="Workspaces")
    def workspaces(self, team: Team) -> str:
        connection = getattr(team, "connection", None)
        return ", ".join(connection.workspace_ids) if connection else ""

    @admin.display(description="Webhook URL")
    def webhook_url(self, team: Team) -> str:
        if team.pk is None:
            return "Shown after saving."
        return settings.PUBLIC_BASE_URL + reverse("runs:webhook", args=[team.webhook_token])

    @admin.action(description="Test FLORA connection of the selected teams")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Team]) -> None:
        for team in queryset:
            _check_and_report(self, request, team)

    # -- secrets: hidden from error reports, audited, checked on save -----------------

    @method_decorator(sensitive_post_parameters())
    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is not FloraConnection:
            return
        for connection_form in formset.forms:
            if not connection_form.has_changed() or connection_form.instance.pk is None:
                continue
            for kind in connection_form.secret_changes:
                services.record_secret_change(connection_form.instance, kind, request.user)
            # The same check as "Test connection", so a wrong key shows up right away.
            request._teams_check_after_save = True  # type: ignore[attr-defined]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if getattr(request, "_teams_check_after_save", False):
            _check_and_report(self, request, form.instance)

    def _redirect_to_choose_workspaces(
        self, request: HttpRequest, team: Team, response: HttpResponse
    ) -> HttpResponse:
        # Saved without workspaces: come back to the page that now offers the key's ones.
        if (
            isinstance(response, HttpResponseRedirect)
            and "_popup" not in request.POST
            and _needs_workspaces(team)
        ):
            return HttpResponseRedirect(reverse("admin:teams_team_change", args=[team.pk]))
        return response

    def response_add(self, request: HttpRequest, obj: Team, post_url_continue: Any = None):
        response = super().response_add(request, obj, post_url_continue)
        return self._redirect_to_choose_workspaces(request, obj, response)

    def response_change(self, request: HttpRequest, obj: Team) -> HttpResponse:
        response = super().response_change(request, obj)
        return self._redirect_to_choose_workspaces(request, obj, response)

    # -- "Test connection" button on the change page ---------------------------------

    def get_urls(self) -> list:
        return [
            path(
                "<int:object_id>/test-connection/",
                self.admin_site.admin_view(self.test_connection_view),
                name="teams_team_test_connection",
            ),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def test_connection_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        team = get_object_or_404(Team, pk=object_id)
        if not self.has_change_permission(request, team):
            return HttpResponse(status=403)
        _check_and_report(self, request, team)
        return HttpResponseRedirect(reverse("admin:teams_team_change", args=[team.pk]))


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__name", "team__slug"]
    autocomplete_fields = ["user", "team"]
    list_select_related = ["user", "team"]


@admin.register(FloraConnection)
class FloraConnectionAdmin(admin.ModelAdmin):
    """An overview of every team's connection; edited on the team's page."""

    list_display = [
        "team",
        "base_url",
        "api_key_hint",
        "webhook_secret_hint",
        "workspace_list",
        "status",
        "last_checked_at",
        "last_request_id",
    ]
    list_filter = ["status", "base_url"]
    search_fields = ["team__name", "team__slug", "api_key_hint", "base_url", "last_request_id"]
    list_select_related = ["team"]
    actions = ["test_connection"]
    fields = [
        "team_link",
        "base_url",
        "api_key_hint",
        "webhook_secret_hint",
        "workspace_ids",
        "default_workspace_id",
        "available_workspaces",
        "status",
        "last_checked_at",
        "last_error",
        "last_request_id",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="Workspaces")
    def workspace_list(self, connection: FloraConnection) -> str:
        return ", ".join(connection.workspace_ids)

    @admin.display(description="Team")
    def team_link(self, connection: FloraConnection) -> str:
        url = reverse("admin:teams_team_change", args=[connection.team_id])
        return format_html('<a href="{}">{}</a> (edit the connection there)', url, connection.team)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Test the selected FLORA connections")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[FloraConnection]) -> None:
        for connection in queryset.select_related("team"):
            _check_and_report(self, request, connection.team)


@admin.register(SecretChange)
class SecretChangeAdmin(admin.ModelAdmin):
    """The audit trail: read-only, for everyone."""

    list_display = ["created_at", "team_name", "secret", "hint", "actor_label"]
    list_filter = ["secret", "created_at", "team"]
    search_fields = ["team_name", "actor_label", "hint"]
    date_hierarchy = "created_at"
    fields = ["created_at", "team", "team_name", "secret", "hint", "actor", "actor_label"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
