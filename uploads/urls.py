from __future__ import annotations

from django.urls import path

from uploads import views

app_name = "uploads"

urlpatterns = [
    path("", views.upload_file, name="create"),
    path("<uuid:public_id>/file", views.upload_content, name="file"),
    path("<uuid:public_id>/thumb/<str:size>", views.upload_thumb, name="thumb"),
]
