from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from florasite import views
from florasite.auth import AdminLoginForm, ThrottledLoginView

admin.site.site_header = "florasite administration"
admin.site.site_title = "florasite admin"
admin.site.index_title = "Teams, connections and runs"
# The admin's log-in is throttled by the same backend; this form says so when it is.
admin.site.login_form = AdminLoginForm

urlpatterns = [
    # First: the runs' status fragments, polled by every open run page and history row, are
    # most of the requests, and a URL is matched pattern by pattern in this order. No other
    # app's URL starts like one of runs.urls (runs/, techniques/<id>/run, inputs/, s/, hooks/).
    path("", include("runs.urls")),
    path("", views.home, name="home"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("teams/", include("teams.urls")),
    path("techniques/", include("techniques.urls")),
    path("uploads/", include("uploads.urls")),
    path("gallery/", include("gallery.urls")),
    path("spend/", include("budgets.urls")),
    path("batches/", include("batches.urls")),
    path("exports/", include("exports.urls")),
    path("", include("boards.urls")),
    path("healthz", views.healthz, name="healthz"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's).
    path("favicon.ico", views.favicon, name="favicon"),
]

if settings.FLORA_SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
