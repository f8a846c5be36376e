from __future__ import annotations

from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "teams"
    verbose_name = "Teams and FLORA connections"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from teams import access_cache
        from teams.models import FloraConnection, Membership, Team

        # Every process's kept memberships (teams.access_cache) are stale after any of these.
        for model in (Membership, Team, FloraConnection):
            for signal in (post_save, post_delete):
                signal.connect(
                    access_cache.changed, sender=model, dispatch_uid=f"access-{model}-{signal}"
                )
