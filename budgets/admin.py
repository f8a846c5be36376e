"""Budgets in the staff console; the ledger and balances are read-only there (the ledger's
only writers are budgets.services)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from budgets.models import Balance, Budget, LedgerEntry, SentAlert


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["team", "member", "monthly_amount", "alert_thresholds", "updated_at"]
    list_filter = ["team"]
    search_fields = ["team__name", "team__slug", "member__username"]
    raw_id_fields = ["member"]
    readonly_fields = ["updated_by", "updated_at"]

    def save_model(self, request: HttpRequest, obj: Budget, form, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(_ReadOnly):
    list_display = [
        "created_at",
        "team",
        "month",
        "kind",
        "run_code",
        "member",
        "amount",
        "reserved_delta",
        "spent_delta",
        "note",
    ]
    list_filter = ["kind", "team", "month"]
    search_fields = ["run_code", "technique_name"]


@admin.register(Balance)
class BalanceAdmin(_ReadOnly):
    list_display = ["team", "member", "month", "reserved", "spent"]
    list_filter = ["team", "month"]


@admin.register(SentAlert)
class SentAlertAdmin(_ReadOnly):
    list_display = ["team", "member", "month", "threshold", "sent_at"]
