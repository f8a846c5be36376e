"""Mounted at /sandbox/ when FLORA_SANDBOX_ENABLED (florasite/urls.py)."""

from __future__ import annotations

from django.urls import path, re_path

from sandbox import api, asset_views, views

app_name = "sandbox"

urlpatterns = [
    path("", views.index, name="index"),
    path("api/v1/techniques", views.technique_list, name="technique-list"),
    path("api/v1/techniques/<str:technique_id>", views.technique_detail, name="technique-detail"),
    path("api/v1/techniques/<str:technique_id>/runs", views.run_create, name="run-create"),
    path(
        "api/v1/techniques/<str:technique_id>/runs/<str:run_id>",
        views.run_detail,
        name="run-detail",
    ),
    path("api/v1/technique-runs", views.run_list, name="run-list"),
    path("api/v1/workspaces", views.workspace_list, name="workspace-list"),
    path("api/v1/assets", asset_views.asset_collection, name="asset-collection"),
    path("api/v1/assets/<str:asset_id>", asset_views.asset_detail, name="asset-detail"),
    path(
        "api/v1/assets/<str:asset_id>/complete", asset_views.asset_complete, name="asset-complete"
    ),
    path("api/v1/assets/<str:asset_id>/retry", asset_views.asset_retry, name="asset-retry"),
    path("uploads/<str:token>", asset_views.upload_target, name="asset-upload"),
    path("files/assets/<str:asset_id>/<str:filename>", asset_views.asset_file, name="asset-file"),
    path("media/<str:run_id>/<str:filename>", views.media_file, name="media"),
    # Anything else under the API answers FLORA's JSON 404, not an HTML page.
    re_path(r"^api/(?P<path>.*)$", api.not_found, name="api-not-found"),
]
