"""A run's status, progress, cost and outputs as time passes (sandbox.lifecycle)."""

from __future__ import annotations

import flora
from sandbox import catalog, lifecycle
from sandbox.models import SandboxRun
from tests.sandbox.sandbox_helpers import DEMO


def _poll(api, body, technique="tech_palette-pull"):
    response = api.get(f"/techniques/{technique}/runs/{body['run_id']}")
    assert response.status_code == 200
    return response.json()


def _tarot(api, question):
    return api.start_run("tech_tarot-pull", [{"id": "question", "type": "text", "value": question}])


def test_a_run_goes_pending_running_completed(api, clock):
    created = api.start_run().json()
    duration = catalog.find("tech_palette-pull").duration

    assert _poll(api, created)["status"] == "pending"
    clock.advance(1.0)
    started = _poll(api, created)
    assert (started["status"], started["progress"]) == ("running", 0)
    assert started["started_at"] == created["created_at"] + 1
    clock.advance(duration / 2)
    assert _poll(api, created)["progress"] == 50
    clock.advance(duration / 2)
    done = _poll(api, created)
    run = flora.Run.model_validate(done)
    assert (run.status, run.progress, run.charged_cost) == ("completed", 100, 0.02)
    assert done["completed_at"] == created["created_at"] + 1 + duration
    assert [(o.output_id, o.type) for o in run.outputs] == [
        ("palette", "imageUrl"),
        ("hex_codes", "text"),
    ]
    assert run.outputs[0].url.startswith("http://testserver/sandbox/media/run_")
    assert run.outputs[1].url.startswith("#")
    assert "error_code" not in done


def test_progress_only_rises(api, clock):
    created = _tarot(api, "Will it ship?").json()
    seen = []
    for _ in range(12):
        clock.advance(0.7)
        seen.append(_poll(api, created, "tech_tarot-pull")["progress"])

    assert seen == sorted(seen)
    assert seen[-1] == 100


def test_fail_marker_ends_failed_and_refunded(api, clock):
    created = _tarot(api, "Will it ship? [fail]").json()
    clock.advance(60)

    failed = _poll(api, created, "tech_tarot-pull")
    run = flora.Run.model_validate(failed)
    assert (run.status, run.error_code, run.charged_cost) == ("failed", "provider_error", 0)
    assert run.error_message
    assert run.outputs is None
    assert failed["completed_at"] >= failed["started_at"]


def test_slow_marker_takes_ten_times_longer(api, clock):
    normal = SandboxRun.objects.get(run_id=_tarot(api, "soon").json()["run_id"])
    slow = SandboxRun.objects.get(run_id=_tarot(api, "later [SLOW]").json()["run_id"])

    normal_running = lifecycle.timeline(normal).ends_at - lifecycle.timeline(normal).started_at
    slow_running = lifecycle.timeline(slow).ends_at - lifecycle.timeline(slow).started_at
    assert slow_running == 10 * normal_running
    clock.advance(1 + normal_running)
    assert _poll(api, {"run_id": slow.run_id}, "tech_tarot-pull")["status"] == "running"


def test_durations_depend_on_the_technique(api):
    durations = {technique.duration for technique in catalog.TECHNIQUES}

    assert min(durations) >= 2
    assert max(durations) <= 20
    assert len(durations) > 5


def test_speedup_makes_time_pass_faster(api, clock, settings):
    settings.FLORA_SANDBOX_SPEEDUP = 10
    created = api.start_run(
        "tech_earth-zoom-out",
        [{"id": "scene", "type": "imageUrl", "value": "https://cdn.example.com/a.jpg"}],
    ).json()

    clock.advance((1 + 18) / 10 + 0.01)

    assert _poll(api, created, "tech_earth-zoom-out")["status"] == "completed"


def test_outputs_are_stored_on_first_read_after_completion(api, clock):
    created = api.start_run().json()
    run = SandboxRun.objects.get(run_id=created["run_id"])
    clock.advance_past(run.run_id)

    assert SandboxRun.objects.get(pk=run.pk).outputs is None
    first = _poll(api, created)["outputs"]
    assert SandboxRun.objects.get(pk=run.pk).outputs is not None
    assert _poll(api, created)["outputs"] == first


def test_a_run_of_another_key_is_not_found(api):
    created = api.start_run().json()

    response = api.get(
        f"/techniques/tech_palette-pull/runs/{created['run_id']}", key="sk_sandbox_other"
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_run_under_another_technique_is_not_found(api):
    created = api.start_run().json()

    assert api.get(f"/techniques/tech_cctv-cam/runs/{created['run_id']}").status_code == 404
    assert api.get(f"/techniques/palette-pull/runs/{created['run_id']}").status_code == 200


def test_an_unknown_run_is_not_found(api):
    assert api.get("/techniques/tech_palette-pull/runs/run_nope", key=DEMO).status_code == 404


def test_keys_sharing_a_workspace_share_its_runs(api):
    created = api.start_run().json()

    response = api.get(
        f"/techniques/tech_palette-pull/runs/{created['run_id']}", key="sk_sandbox_broke"
    )

    assert response.status_code == 200
