"""Teams, memberships (roles) and each team's FLORA connection. See teams/README.md.

Wiring other apps rely on:

- teams.middleware.CurrentTeamMiddleware: request.team, request.membership (None when
  anonymous or without a team), request.user_memberships (list, for the switcher).
- teams.access.require_membership(request) -> Membership (Http404 without a team),
  require_role(request, Role.MEMBER) -> Membership (PermissionDenied below the role),
  get_for_team_or_404(request, queryset, **lookup) -> the object of the current team.
- teams.permissions: can_start_runs(m), can_share(m, run_owner), can_manage_shares(m),
  can_revoke_share(m, share_creator), can_see_spend(m).
- teams.services.flora_client(team) -> flora.Flora (NoConnection when not set up);
  check_connection(connection) -> list[Workspace]; mark_failing(connection, error);
  get_http_client() (the test seam: fixture `sandbox_http`).
- connection = team.connection: .workspace_ids (list), .default_workspace_id,
  .decrypt_webhook_secret() (for the webhook receiver), team.webhook_token.
"""
