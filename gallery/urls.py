"""The gallery's URLs (mounted at /gallery/)."""

from __future__ import annotations

from django.urls import path

from gallery import views

app_name = "gallery"

urlpatterns = [
    path("", views.index, name="index"),
    path("compare", views.compare, name="compare"),
    path("outputs/<str:output_id>/favourite", views.toggle_favourite, name="favourite"),
    path(
        "uploads/<uuid:public_id>/favourite",
        views.toggle_upload_favourite,
        name="upload_favourite",
    ),
]
