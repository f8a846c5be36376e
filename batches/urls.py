"""Every URL of the batches app, mounted at /batches/."""

from __future__ import annotations

from django.urls import path

from batches.views import pages, start

app_name = "batches"

urlpatterns = [
    path("", pages.batch_list, name="list"),
    path("new/<str:technique_id>", start.new_batch, name="new"),
    path("<str:code>/", pages.batch_detail, name="detail"),
    path("<str:code>/live", pages.batch_live, name="live"),
    path("<str:code>/approve", pages.approve, name="approve"),
    path("<str:code>/cancel", pages.cancel, name="cancel"),
    path("<str:code>/retry", pages.retry_failed, name="retry"),
    path("<str:code>/download.zip", pages.download, name="zip"),
    path("<str:code>/to-board", pages.add_to_board, name="to_board"),
]
