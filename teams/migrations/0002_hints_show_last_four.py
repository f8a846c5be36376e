"""Recompute the stored hints with the kind-and-last-four rule (sk_sandbox_…demo), so keys
saved before it can be told apart too. The audit trail keeps the hints it recorded."""

from __future__ import annotations

from django.db import migrations
from django.views.decorators.debug import sensitive_variables

from teams import crypto


@sensitive_variables()
def recompute_hints(apps, schema_editor) -> None:
    FloraConnection = apps.get_model("teams", "FloraConnection")
    for connection in FloraConnection.objects.all():
        fields = {}
        for encrypted, hint in (
            ("api_key_encrypted", "api_key_hint"),
            ("webhook_secret_encrypted", "webhook_secret_hint"),
        ):
            token = getattr(connection, encrypted)
            if not token:
                continue
            try:
                fields[hint] = crypto.secret_hint(crypto.decrypt(token))
            except crypto.DecryptionFailed:
                # Keys not configured here: the old hint stays until the secret is set again.
                continue
        if fields:
            FloraConnection.objects.filter(pk=connection.pk).update(**fields)


class Migration(migrations.Migration):
    dependencies = [("teams", "0001_initial")]

    operations = [migrations.RunPython(recompute_hints, migrations.RunPython.noop)]
