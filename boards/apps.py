from __future__ import annotations

from django.apps import AppConfig


class BoardsConfig(AppConfig):
    name = "boards"
    verbose_name = "Boards"

    def ready(self) -> None:
        from teams.crypto import register_encrypted_field

        # Board share link tokens are kept encrypted with the teams' keys: rotate them too.
        register_encrypted_field("boards.BoardShareLink", "token_encrypted", "board link token")
