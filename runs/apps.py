from __future__ import annotations

from datetime import timedelta

from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"
    verbose_name = "Runs"

    def ready(self) -> None:
        from django.db.models.signals import pre_delete

        from florasite import discards, periodic
        from runs import keeping, state, tasks
        from runs.again import inputs_of_run
        from runs.inputs import output_choice
        from teams.crypto import register_encrypted_field
        from techniques.media import register_output_choices
        from techniques.prefill import register_again_inputs

        # Share link tokens are kept encrypted with the teams' keys: rotate them with those.
        register_encrypted_field("runs.ShareLink", "token_encrypted", "share link token")
        # "Run again" fills the technique page's form with the run's inputs.
        register_again_inputs(inputs_of_run)
        # Kept outputs can be chosen as inputs of another technique (issue 15).
        register_output_choices(output_choice)
        # A run that completes with media outputs has them copied at once.
        state.outputs_waiting.connect(tasks.keep_waiting_outputs, dispatch_uid="runs.keep")
        # A deleted team's kept outputs and their thumbnails leave storage (florasite.discards);
        # a thumbnail another team's output also shows stays.
        pre_delete.connect(
            keeping.discard_team_files, sender="teams.Team", dispatch_uid="runs.discard"
        )
        discards.register_in_use("runs.thumbs", keeping.THUMBS_IN_USE)

        # Runs nobody watches are refreshed by the sweep; runs started elsewhere are
        # imported by the sync; create calls whose answer was lost are reconciled; outputs
        # not copied yet (a worker restarted, a copy to retry) are kept within seconds.
        periodic.register("runs.sweep", timedelta(seconds=5), tasks.sweep_runs)
        periodic.register("runs.reconcile", timedelta(seconds=15), tasks.reconcile_runs)
        periodic.register("runs.sync", timedelta(minutes=2), tasks.sync_all_teams)
        periodic.register("runs.keep", timedelta(seconds=5), tasks.retry_keeping_outputs)
        # Thumbnails nobody queued (older outputs, a lost task, a storage error) in batches.
        periodic.register("runs.thumbs", timedelta(seconds=30), tasks.make_due_thumbnails)
        # The history's tallies: delta rows folded into one row a key (runs.tallies).
        periodic.register("runs.compact_tallies", timedelta(minutes=1), tasks.compact_run_tallies)
        periodic.register("runs.prune_webhooks", timedelta(hours=6), tasks.prune_webhook_deliveries)
