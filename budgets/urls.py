"""The spend page and the budget settings (the current team's; managers only)."""

from __future__ import annotations

from django.urls import path

from budgets import views

app_name = "budgets"

urlpatterns = [
    path("", views.spend, name="spend"),
    path("export.csv", views.spend_csv, name="csv"),
    path("budget", views.budget_settings, name="settings"),
    path("budget/members", views.member_budget, name="member"),
    path("budget/members/<int:pk>/delete", views.member_budget_delete, name="member_delete"),
]
