from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from teams import access_cache, crypto
from teams.cli import bad_input
from teams.models import FloraConnection, SecretKind


class Command(BaseCommand):
    help = (
        "Re-encrypt every team secret with the newest key of FLORASITE_ENCRYPTION_KEYS. "
        "Safe to run again; afterwards the older keys can be removed from the setting."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        rewritten = current = 0
        # All or nothing: a secret no key can open stops the run before anything changes,
        # so the operator can put the missing key back and run it again.
        with transaction.atomic():
            connections = FloraConnection.objects.select_for_update().select_related("team")
            for connection in connections.order_by("pk"):
                updates: dict[str, str] = {}
                for field, token in connection.secret_tokens.items():
                    if not token:
                        continue
                    if crypto.is_current(token):
                        current += 1
                        continue
                    try:
                        updates[field] = crypto.reencrypt(token)
                    except crypto.DecryptionFailed:
                        label = SecretKind(field.removesuffix("_encrypted")).label
                        raise bad_input(
                            f"The {label} of the {connection} (team {connection.team.slug!r}) "
                            f"cannot be decrypted with any key in {crypto.SETTING}; nothing "
                            "was rewritten. Add the key it was encrypted with and run again."
                        ) from None
                if updates:
                    # update(), not save(): the connection's other fields stay untouched.
                    FloraConnection.objects.filter(pk=connection.pk).update(**updates)
                    access_cache.changed()  # no signal for update(): kept copies are stale
                    rewritten += len(updates)
            for spec in crypto.encrypted_fields():
                done, kept = _rotate_field(spec)
                rewritten += done
                current += kept
        self.stdout.write(
            f"Re-encrypted {rewritten} secret(s) with the newest key; {current} already used it."
        )


def _rotate_field(spec: crypto.EncryptedField) -> tuple[int, int]:
    """Re-encrypt one registered field of another app: (rewritten, already current)."""
    model = apps.get_model(spec.model)
    rewritten = current = 0
    rows = model._default_manager.select_for_update().exclude(**{spec.field: ""})
    for pk, token in rows.order_by("pk").values_list("pk", spec.field):
        if crypto.is_current(token):
            current += 1
            continue
        try:
            fresh = crypto.reencrypt(token)
        except crypto.DecryptionFailed:
            raise bad_input(
                f"The {spec.label} of {spec.model} {pk} cannot be decrypted with any key in "
                f"{crypto.SETTING}; nothing was rewritten. Add the key it was encrypted with "
                "and run again."
            ) from None
        model._default_manager.filter(pk=pk).update(**{spec.field: fresh})
        rewritten += 1
    return rewritten, current
