"""Every URL of the exports app, mounted at /exports/."""

from __future__ import annotations

from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("", views.export_list, name="list"),
    path("new", views.new_export, name="new"),
    path("<str:code>/state", views.export_state, name="state"),
    path("<str:code>/download", views.download, name="download"),
    path("<str:code>/retry", views.retry, name="retry"),
]
