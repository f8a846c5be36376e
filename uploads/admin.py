from __future__ import annotations

from django.contrib import admin

from florasite.discards import DiscardsFilesAdmin
from uploads.models import FloraAsset, Upload


@admin.register(Upload)
class UploadAdmin(DiscardsFilesAdmin):
    list_display = ("original_name", "team", "kind", "content_type", "size", "created_at")
    list_filter = ("kind", "team")
    search_fields = ("original_name", "sha256")
    readonly_fields = [field.name for field in Upload._meta.fields]
    discard_columns = ("file", "thumb_small", "thumb_large")  # florasite.discards

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False


@admin.register(FloraAsset)
class FloraAssetAdmin(admin.ModelAdmin):
    list_display = ("asset_id", "team", "workspace_id", "status", "created_at")
    list_filter = ("status", "team")
    search_fields = ("asset_id", "sha256")
    readonly_fields = [field.name for field in FloraAsset._meta.fields]

    def has_add_permission(self, request) -> bool:  # noqa: ANN001
        return False
