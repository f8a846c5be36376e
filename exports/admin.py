from __future__ import annotations

from django.contrib import admin

from exports.models import Export
from florasite.discards import DiscardsFilesAdmin


@admin.register(Export)
class ExportAdmin(DiscardsFilesAdmin):
    list_display = ("code", "team", "requested_by", "status", "rows", "size", "created_at")
    list_filter = ("status",)
    search_fields = ("code", "team__slug", "requested_by__username")
    readonly_fields = [f.name for f in Export._meta.fields]
    discard_columns = ("file",)  # florasite.discards

    def has_add_permission(self, request) -> bool:  # made from the Runs page only
        return False
