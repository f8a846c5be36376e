from __future__ import annotations

from django.contrib import admin

from florasite.discards import DiscardsFilesAdmin
from runs.models import Run, RunOutput, ShareLink, WebhookDelivery


class RunOutputInline(admin.TabularInline):
    model = RunOutput
    extra = 0
    can_delete = False
    fields = (
        "position",
        "output_id",
        "type",
        "keep_status",
        "attempts",
        "last_error",
        "content_type",
        "size",
        "sha256",
    )
    readonly_fields = fields


@admin.register(Run)
class RunAdmin(DiscardsFilesAdmin):
    list_display = (
        "code",
        "technique_name",
        "team",
        "created_by",
        "origin",
        "status",
        "charged_cost",
        "created_at",
        "stale",
    )
    list_filter = ("status", "origin", "stale", "team", "created_at")
    search_fields = ("code", "technique_id", "technique_name", "flora_run_id", "intent_key")
    date_hierarchy = "created_at"
    list_select_related = ("team", "created_by")
    readonly_fields = ("code", "intent_key", "flora_run_id", "created_at", "updated_at")
    inlines = [RunOutputInline]
    actions = ["retry_keeping_outputs"]
    # A deleted run's kept outputs and thumbnails leave storage (florasite.discards).
    discard_columns = ("outputs__file", "outputs__thumb_small", "outputs__thumb_large")

    @admin.action(description="Retry keeping outputs that could not be kept")
    def retry_keeping_outputs(self, request, queryset):  # type: ignore[no-untyped-def]
        from runs.keeping import reset_failed_outputs

        count = reset_failed_outputs(queryset)
        self.message_user(
            request, f"{count} output(s) will be copied again by the worker within a minute."
        )


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ("code", "run", "created_by", "created_at", "expires_at", "revoked_at", "views")
    list_filter = ("hide_inputs", "created_at", "expires_at", "revoked_at")
    search_fields = ("code", "run__code", "token_hint")
    list_select_related = ("run", "created_by")
    # Its hash is useless to show, and the token (encrypted) is for the team's members only.
    exclude = ("token_hash", "token_encrypted")
    readonly_fields = ("code", "token_hint", "views", "last_viewed_at")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("delivery_id", "event_type", "flora_run_id", "team", "received_at")
    list_filter = ("event_type", "team", "received_at")
    search_fields = ("delivery_id", "flora_run_id")
    list_select_related = ("team",)
