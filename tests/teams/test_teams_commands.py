from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from teams.models import FloraConnection, Membership, SecretChange, Team

pytestmark = pytest.mark.django_db

KEY = "sk_live_C4n9Qe2Wr7Ty1Ui8Op3As6Df0Gh5Jk"
SECRET = "whsec_Lz2Xc7Vb4Nm9Qw1Er6Ty3Ui8Op0As5"


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "api_key"
    path.write_text(KEY + "\n")
    return str(path)


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "webhook_secret"
    path.write_text(SECRET + "\n")
    return str(path)


def _state() -> tuple:
    """Everything the commands may change, to prove a failed run changed nothing."""
    return (
        list(Team.objects.values_list("slug", "name")),
        list(FloraConnection.objects.values_list("team__slug", "api_key_encrypted")),
        list(Membership.objects.values_list("user__username", "team__slug", "role")),
        list(User.objects.values_list("username", "password")),
        SecretChange.objects.count(),
    )


def _create(run_cli, *extra: str, stdin: str = "", **opts: str):
    args = {
        "--name": "Northwind Studio",
        "--base-url": "https://app.flora.ai/api/v1",
        "--workspaces": "ws_north,ws_wind",
        **{f"--{k.replace('_', '-')}": v for k, v in opts.items()},
    }
    argv = ["create_team"]
    for name, value in args.items():
        if value is not None:
            argv += [name, value]
    return run_cli(*argv, *extra, stdin=stdin)


# --- create_team ------------------------------------------------------------------------


def test_create_team_prints_the_slug_and_stores_the_key_encrypted(run_cli, key_file, secret_file):
    result = _create(run_cli, api_key_file=key_file, webhook_secret_file=secret_file)
    assert result.code == 0, result.err
    assert result.out.strip() == "northwind-studio"
    team = Team.objects.get(slug="northwind-studio")
    connection = team.connection
    assert connection.decrypt_api_key() == KEY
    assert connection.decrypt_webhook_secret() == SECRET
    assert KEY not in connection.api_key_encrypted
    assert connection.workspace_ids == ["ws_north", "ws_wind"]
    assert connection.default_workspace_id == "ws_north"
    assert connection.api_key_hint == "sk_live_…h5Jk"
    changes = list(SecretChange.objects.order_by("secret").values_list("secret", "actor_label"))
    assert changes == [("api_key", "command-line"), ("webhook_secret", "command-line")]
    assert KEY not in result.out + result.err


def test_create_team_reads_the_key_from_stdin(run_cli):
    result = _create(
        run_cli, api_key_file="-", slug="nw", default_workspace="ws_wind", stdin=KEY + "\n"
    )
    assert result.code == 0, result.err
    assert result.out.strip() == "nw"
    connection = Team.objects.get(slug="nw").connection
    assert connection.decrypt_api_key() == KEY
    assert connection.default_workspace_id == "ws_wind"
    assert not connection.has_webhook_secret


@pytest.mark.parametrize(
    ("opts", "stdin", "message"),
    [
        ({"slug": "Not A Slug"}, "", "is not a slug"),
        ({"slug": "acme"}, "", "already exists"),
        ({"name": "   "}, "", "--name"),
        ({"base_url": "app.flora.ai/api/v1"}, "", "absolute http"),
        ({"base_url": "https://user:pw@app.flora.ai/api/v1"}, "", "no credentials"),
        ({"workspaces": "north"}, "", "not a FLORA workspace id"),
        ({"workspaces": ","}, "", "at least one workspace"),
        ({"default_workspace": "ws_south"}, "", "not one of --workspaces"),
        ({"api_key_file": "/nonexistent/key"}, "", "does not exist"),
        ({"api_key_file": "-"}, "", "is empty"),
        ({"api_key_file": "-"}, "sk live with spaces", "one line without spaces"),
        ({"api_key_file": "-", "webhook_secret_file": "-"}, KEY, "Only one secret"),
        ({"webhook_secret_file": "/nonexistent/secret"}, "", "does not exist"),
    ],
)
def test_create_team_bad_input_exits_2_and_changes_nothing(
    run_cli, key_file, team_a, opts, stdin, message
):
    opts = {"api_key_file": key_file, **opts}
    before = _state()
    result = _create(run_cli, stdin=stdin, **opts)
    assert result.code == 2
    assert message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert _state() == before
    assert KEY not in result.err and "sk live with spaces" not in result.err


def test_create_team_refuses_a_directory_and_missing_arguments(run_cli, tmp_path):
    before = _state()
    result = _create(run_cli, api_key_file=str(tmp_path))
    assert (result.code, "is a directory" in result.err) == (2, True)
    result = run_cli("create_team", "--name", "X")
    assert result.code == 2 and "required" in result.err
    assert _state() == before


def test_secrets_are_not_accepted_on_the_command_line(run_cli):
    result = run_cli("create_team", "--name", "X", "--api-key", KEY)
    assert result.code == 2
    assert not Team.objects.exists()


# --- set_api_key ------------------------------------------------------------------------


def test_set_api_key_tries_the_key_replaces_it_and_audits(run_cli, team_a, upstream, tmp_path):
    path = tmp_path / "api_key"
    path.write_text("sk_sandbox_other\n")
    result = run_cli("set_api_key", "--team", "acme", "--api-key-file", str(path))
    assert result.code == 0, result.err
    assert "FLORA accepted it" in result.out and "sk_sandbox_other" not in result.out
    assert upstream.calls("GET", "/workspaces") == 1
    connection = FloraConnection.objects.get(team=team_a)
    assert connection.decrypt_api_key() == "sk_sandbox_other"
    change = SecretChange.objects.latest("id")
    assert (change.team, change.secret, change.actor_label, change.actor) == (
        team_a,
        "api_key",
        "command-line",
        None,
    )


def test_set_api_key_refuses_a_key_flora_rejects(run_cli, team_a, key_file, upstream):
    before = _state()
    result = run_cli("set_api_key", "--team", "acme", "--api-key-file", key_file)
    assert result.code == 2
    assert result.out == ""
    # Besides the log lines, one line says why.
    lines = [line for line in result.err.splitlines() if line.startswith("CommandError")]
    assert len(lines) == 1, result.err
    assert "FLORA refused this key: HTTP 401 unauthorized" in lines[0]
    assert "not saved" in lines[0] and KEY not in result.err
    assert _state() == before
    assert FloraConnection.objects.get(team=team_a).decrypt_api_key() == "sk_sandbox_demo"


def test_set_api_key_refuses_a_key_when_flora_cannot_be_asked(run_cli, team_a, key_file, upstream):
    upstream.drop(path="/workspaces")
    before = _state()
    result = run_cli("set_api_key", "--team", "acme", "--api-key-file", key_file)
    assert result.code == 2
    assert "could not be asked" in result.err and "not saved" in result.err
    assert _state() == before


def test_set_api_key_no_check_saves_without_asking_flora(run_cli, team_a, key_file):
    # No FLORA fixture: any call would fail the test (_no_real_flora).
    result = run_cli("set_api_key", "--team", "acme", "--api-key-file", key_file, "--no-check")
    assert result.code == 0, result.err
    assert "sk_live_" in result.out and "not checked with FLORA" in result.out
    assert KEY not in result.out
    connection = FloraConnection.objects.get(team=team_a)
    assert connection.decrypt_api_key() == KEY
    assert connection.status == "unchecked"
    assert SecretChange.objects.latest("id").hint == connection.api_key_hint


def test_set_api_key_from_stdin(run_cli, team_a, sandbox_http):
    result = run_cli(
        "set_api_key", "--team", "acme", "--api-key-file", "-", stdin="sk_sandbox_other"
    )
    assert result.code == 0, result.err
    assert FloraConnection.objects.get(team=team_a).decrypt_api_key() == "sk_sandbox_other"


@pytest.mark.parametrize(
    ("team", "source", "stdin", "message"),
    [
        ("nope", "KEYFILE", "", "No team with slug 'nope'"),
        ("bare", "KEYFILE", "", "has no FLORA connection"),
        ("acme", "/nonexistent", "", "does not exist"),
        ("acme", "-", "\n", "is empty"),
        ("acme", "-", "two\nlines", "one line without spaces"),
    ],
)
def test_set_api_key_bad_input_exits_2_and_changes_nothing(
    run_cli, team_a, key_file, team, source, stdin, message
):
    Team.objects.create(name="Bare", slug="bare")
    before = _state()
    source = key_file if source == "KEYFILE" else source
    result = run_cli("set_api_key", "--team", team, "--api-key-file", source, stdin=stdin)
    assert result.code == 2
    assert message in result.err
    assert _state() == before


# --- add_member -------------------------------------------------------------------------


def test_add_member_adds_an_existing_user_then_changes_the_role(run_cli, team_a, dave):
    result = run_cli("add_member", "--team", "acme", "--username", "dave", "--role", "viewer")
    assert result.code == 0, result.err
    assert Membership.objects.get(user=dave, team=team_a).role == "viewer"
    result = run_cli("add_member", "--team", "acme", "--username", "dave", "--role", "manager")
    assert result.code == 0 and "(was viewer)" in result.out
    assert Membership.objects.get(user=dave, team=team_a).role == "manager"
    result = run_cli("add_member", "--team", "acme", "--username", "dave", "--role", "manager")
    assert result.code == 0 and "already" in result.out


def test_add_member_creates_a_user_with_a_password_from_a_file(run_cli, team_a, tmp_path):
    password_file = tmp_path / "pw"
    password_file.write_text("correct horse battery staple\n")
    result = run_cli(
        "add_member",
        "--team", "acme",
        "--username", "erin",
        "--role", "member",
        "--create-user",
        "--password-file", str(password_file),
    )  # fmt: skip
    assert result.code == 0, result.err
    erin = User.objects.get(username="erin")
    assert erin.check_password("correct horse battery staple")
    assert Membership.objects.get(user=erin).role == "member"
    assert "correct horse" not in result.out + result.err


def test_add_member_password_from_stdin(run_cli, team_a):
    result = run_cli(
        "add_member", "--team", "acme", "--username", "erin", "--role", "viewer",
        "--create-user", "--password-file", "-",
        stdin="correct horse battery staple\n",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert User.objects.get(username="erin").check_password("correct horse battery staple")


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["--team", "nope", "--username", "bob", "--role", "member"], "", "No team"),
        (["--team", "acme", "--username", "zed", "--role", "member"], "", "--create-user"),
        (["--team", "acme", "--username", "bob", "--role", "owner"], "", "invalid choice"),
        (
            ["--team", "acme", "--username", "bob", "--role", "member", "--create-user",
             "--password-file", "-"],
            "correct horse battery staple",
            "already exists",
        ),
        (["--team", "acme", "--username", "zed", "--role", "member", "--create-user"], "",
         "needs --password-file"),
        (
            ["--team", "acme", "--username", "zed", "--role", "member", "--create-user",
             "--password-file", "-"],
            "123",
            "too short",
        ),
        (
            ["--team", "acme", "--username", "bad name!", "--role", "member", "--create-user",
             "--password-file", "-"],
            "correct horse battery staple",
            "valid username",
        ),
        (["--team", "acme", "--username", "bob", "--role", "member", "--password-file", "-"],
         "x", "only used with --create-user"),
    ],
)  # fmt: skip
def test_add_member_bad_input_exits_2_and_changes_nothing(run_cli, bob, argv, stdin, message):
    before = _state()
    result = run_cli("add_member", *argv, stdin=stdin)
    assert result.code == 2
    assert message in result.err
    assert _state() == before
