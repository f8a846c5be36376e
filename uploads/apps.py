from __future__ import annotations

from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "uploads"
    verbose_name = "Uploads"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from florasite import discards
        from uploads import services
        from uploads.validation import set_pixel_limit

        set_pixel_limit()
        # A deleted team's uploads and their thumbnails leave storage (florasite.discards); a
        # thumbnail another team's upload also shows stays.
        pre_delete.connect(
            services.discard_team_files, sender="teams.Team", dispatch_uid="uploads.discard"
        )
        discards.register_in_use("uploads.thumbs", services.THUMBS_IN_USE)
