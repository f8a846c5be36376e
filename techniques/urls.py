from __future__ import annotations

from django.urls import path

from techniques import views

app_name = "techniques"

urlpatterns = [
    path("", views.technique_list, name="list"),
    path("<str:technique_id>/", views.technique_detail, name="detail"),
]
