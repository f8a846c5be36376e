"""Process bookkeeping shared by every app: worker heartbeats and periodic job claims."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """A background worker says it is alive; /healthz reports the freshest beat's age."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"{self.worker_id} on {self.hostname or '?'}"


class PeriodicJob(models.Model):
    """When a periodic job is next due. Workers claim a run with a conditional UPDATE."""

    name = models.CharField(max_length=100, unique=True)
    next_run_at = models.DateTimeField(default=timezone.now)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_worker_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RateLimitCounter(models.Model):
    """Requests counted against a limit until `window_ends_at` (florasite.lib.ratelimit).

    Slots are claimed with conditional UPDATEs, so concurrent requests in any number of
    processes never get more than the limit between them.
    """

    key = models.CharField(max_length=100, unique=True)
    window_ends_at = models.DateTimeField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key}: {self.count} until {self.window_ends_at:%H:%M:%S}"


class DiscardedFile(models.Model):
    """A name in the default storage that no row needs any more (its team was deleted), for
    the worker to delete (florasite.discards). Written in the deleting transaction, so a
    delete that rolls back discards nothing."""

    name = models.CharField(max_length=500)
    discarded_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["attempts", "id"], name="discarded_due")]

    def __str__(self) -> str:
        return self.name
