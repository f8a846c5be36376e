"""The files of deleted teams still waiting to leave storage (florasite.discards)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from florasite.models import DiscardedFile


@admin.register(DiscardedFile)
class DiscardedFileAdmin(admin.ModelAdmin):
    """Read-only: the worker deletes these within a minute; what stays here is a storage
    that kept refusing (its error shown), to try again once it is back."""

    list_display = ["name", "discarded_at", "attempts", "last_error"]
    list_filter = ["attempts"]
    search_fields = ["name"]
    fields = list_display
    readonly_fields = list_display
    actions = ["try_again"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a row deleted here would leave its file in storage for good

    @admin.action(description="Try the selected files again at the next pass")
    def try_again(self, request: HttpRequest, queryset: QuerySet[DiscardedFile]) -> None:
        count = queryset.update(attempts=0, last_error="")
        files = "1 file" if count == 1 else f"{count} files"
        self.message_user(
            request, f"{files} will be deleted at the worker's next pass.", messages.INFO
        )
