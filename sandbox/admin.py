from __future__ import annotations

from django.contrib import admin

from sandbox import clock, lifecycle
from sandbox.models import (
    SandboxAsset,
    SandboxIdempotencyKey,
    SandboxRequestLog,
    SandboxRun,
    SandboxWebhookDelivery,
)


@admin.register(SandboxRun)
class SandboxRunAdmin(admin.ModelAdmin):
    list_display = ("run_id", "technique_id", "workspace_id", "project_id", "api_key", "status")
    list_filter = ("workspace_id", "api_key", "technique_id")
    search_fields = ("run_id", "technique_id", "project_id")
    readonly_fields = ("status",)

    @admin.display(description="status (now)")
    def status(self, run: SandboxRun) -> str:
        return lifecycle.state_at(run, clock.now()).status


@admin.register(SandboxIdempotencyKey)
class SandboxIdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ("key", "api_key", "run", "created_at")
    list_filter = ("api_key",)
    search_fields = ("key", "run__run_id")
    raw_id_fields = ("run",)


@admin.register(SandboxRequestLog)
class SandboxRequestLogAdmin(admin.ModelAdmin):
    list_display = ("request_id", "api_key", "technique_id", "status_code", "run_id", "created")
    list_filter = ("api_key", "status_code", "error_code")
    search_fields = ("request_id", "run_id", "idempotency_key", "technique_id")


@admin.register(SandboxWebhookDelivery)
class SandboxWebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "delivery_id",
        "run",
        "event_type",
        "attempts",
        "last_status_code",
        "delivered_at",
    )
    list_filter = ("event_type", "last_status_code")
    search_fields = ("delivery_id", "run__run_id")
    raw_id_fields = ("run",)


@admin.register(SandboxAsset)
class SandboxAssetAdmin(admin.ModelAdmin):
    list_display = ("asset_id", "name", "status", "content_type", "size_bytes", "workspace_id")
    list_filter = ("status", "uploaded_via", "workspace_id")
    search_fields = ("asset_id", "name", "folder")
    # The bytes are served at the asset's URL; the admin shows everything else.
    exclude = ("data", "upload_token_hash")
