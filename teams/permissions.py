"""What each role may do, in one place. Views call these (through teams.access or
directly); templates may use them to hide buttons, but never instead of the check.

viewer: can look. member: can also start runs, share their own runs and refresh the history
from FLORA (both call FLORA with the team's key).
manager: can also manage every share link of the team and see spend.
Boards: members and managers curate them (create, add, order, note, review, comment, share);
viewers look.
Members and managers may copy any active share link of the team's runs again; viewers may not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from teams.models import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from teams.models import Membership

__all__ = [
    "can_copy_share",
    "can_curate_boards",
    "can_manage_shares",
    "can_refresh_from_flora",
    "can_revoke_share",
    "can_see_spend",
    "can_share",
    "can_start_runs",
    "can_view",
]


def _same_user(membership: Membership, user: AbstractBaseUser | int | None) -> bool:
    if user is None:
        return False
    user_id = user if isinstance(user, int) else user.pk
    return user_id is not None and user_id == membership.user_id


def can_view(membership: Membership | None) -> bool:
    return membership is not None


def can_start_runs(membership: Membership | None) -> bool:
    return membership is not None and membership.has_role(Role.MEMBER)


def can_refresh_from_flora(membership: Membership | None) -> bool:
    """Import the team's outside runs now ("Refresh from FLORA")."""
    return membership is not None and membership.has_role(Role.MEMBER)


def can_share(membership: Membership | None, run_owner: AbstractBaseUser | int | None) -> bool:
    """Create a share link for a run started by `run_owner` (a user or user id)."""
    if membership is None:
        return False
    if membership.has_role(Role.MANAGER):
        return True
    return membership.has_role(Role.MEMBER) and _same_user(membership, run_owner)


def can_copy_share(membership: Membership | None) -> bool:
    """Copy an existing, active share link of one of the team's runs.

    Members, not only the link's creator: the creator already decided the result may leave
    the team, and issue 14 asks that teammates can pass the same link on later. Not viewers:
    they may look but never publish anything (they cannot share a run either), and handing a
    link on is publishing.
    """
    return membership is not None and membership.has_role(Role.MEMBER)


def can_manage_shares(membership: Membership | None) -> bool:
    """List and revoke every share link of the team, whoever created it."""
    return membership is not None and membership.has_role(Role.MANAGER)


def can_revoke_share(
    membership: Membership | None, share_creator: AbstractBaseUser | int | None
) -> bool:
    """Revoke one share link: its creator (while still a member or above), or a manager."""
    if membership is None:
        return False
    if can_manage_shares(membership):
        return True
    return membership.has_role(Role.MEMBER) and _same_user(membership, share_creator)


def can_see_spend(membership: Membership | None) -> bool:
    return membership is not None and membership.has_role(Role.MANAGER)


def can_curate_boards(membership: Membership | None) -> bool:
    """Create boards, add and order items, write notes, review, comment, share a board."""
    return membership is not None and membership.has_role(Role.MEMBER)
