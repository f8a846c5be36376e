"""Sandbox state: runs, idempotency keys, create-call log, webhook deliveries, assets.

A run stores only what was asked (inputs, timing); its status, progress and outputs are
derived from the clock at read time (sandbox.lifecycle), so no process has to advance it.
"""

from __future__ import annotations

from django.db import models


class SandboxRun(models.Model):
    # Public id (`run_...`): random, so runs and their media URLs cannot be guessed.
    run_id = models.CharField(max_length=40, unique=True)
    api_key = models.CharField(max_length=64, db_index=True)
    technique_id = models.CharField(max_length=100)
    workspace_id = models.CharField(max_length=40)
    project_id = models.CharField(max_length=40)
    # [{"id", "type", "value"}, ...] as sent.
    inputs = models.JSONField()
    callback_url = models.CharField(max_length=2048, blank=True)
    # Unix seconds on the sandbox clock (sandbox.clock.now), so tests control time.
    created_at = models.FloatField()
    # FLORA_SANDBOX_SPEEDUP when the run was created: a run's timeline never changes.
    speedup = models.FloatField(default=1.0)
    # [{"output_id", "type", "file"|"text"}], written on the first read after completion.
    outputs = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["workspace_id", "-id"], name="sandbox_run_ws_idx")]

    def __str__(self) -> str:
        return self.run_id


class SandboxIdempotencyKey(models.Model):
    """An idempotency key seen on a create call; the unique constraint makes it race-safe."""

    api_key = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    # sha256 of the canonical request (technique, body without the key).
    request_hash = models.CharField(max_length=64)
    run = models.ForeignKey(SandboxRun, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="sandbox_idempotency_unique")
        ]

    def __str__(self) -> str:
        return self.key


class SandboxRequestLog(models.Model):
    """One row per create call received (sandbox.stats.create_calls counts them)."""

    api_key = models.CharField(max_length=64, db_index=True)
    technique_id = models.CharField(max_length=100)
    idempotency_key = models.CharField(max_length=255, blank=True)
    status_code = models.PositiveSmallIntegerField()
    error_code = models.CharField(max_length=40, blank=True)
    run_id = models.CharField(max_length=40, blank=True)
    request_id = models.CharField(max_length=40)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.status_code}"


class SandboxWebhookDelivery(models.Model):
    """The one webhook event of a run; its id is reused by every retry (at-least-once)."""

    run = models.OneToOneField(SandboxRun, on_delete=models.CASCADE, related_name="delivery")
    delivery_id = models.CharField(max_length=40, unique=True)
    event_type = models.CharField(max_length=20)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "sandbox webhook deliveries"

    def __str__(self) -> str:
        return self.delivery_id


class SandboxAsset(models.Model):
    """An uploaded file (POST /assets), its bytes kept in the row.

    The bytes live in the database, not on disk: like the generated outputs (regenerated,
    never written), an asset then needs no MEDIA_ROOT, survives restarts, and is rolled back
    with a test's transaction. Files are small by FLORA's limits (50 MB at most).
    """

    # Public id (`asset_...`): random, so asset URLs cannot be guessed.
    asset_id = models.CharField(max_length=40, unique=True)
    api_key = models.CharField(max_length=64, db_index=True)
    workspace_id = models.CharField(max_length=40)
    project_id = models.CharField(max_length=40, blank=True)
    folder = models.CharField(max_length=255, blank=True)
    name = models.CharField(max_length=255, blank=True)
    # "direct" (multipart bytes), "url" (fetched from `source`), "signed_url".
    uploaded_via = models.CharField(max_length=12)
    # "pending_upload", "ready" or "failed".
    status = models.CharField(max_length=16)
    # What the uploader said it is; `content_type` is what the bytes are.
    upload_content_type = models.CharField(max_length=100, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    data = models.BinaryField(null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    source_url = models.CharField(max_length=2048, blank=True)
    # sha256 of the signed upload URL's random token (the token itself is never stored).
    upload_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Unix seconds on the sandbox clock.
    expires_at = models.FloatField(null=True, blank=True)
    created_at = models.FloatField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["workspace_id", "-id"], name="sandbox_asset_ws_idx")]

    def __str__(self) -> str:
        return self.asset_id
