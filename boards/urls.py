"""Every URL of the boards app. Mounted at the site's root: /boards/... for the team,
/b/<token> for a shared board."""

from __future__ import annotations

from django.urls import path

from boards.views import download, items, pages, sharing

app_name = "boards"

urlpatterns = [
    path("boards/", pages.board_list, name="list"),
    path("boards/add", items.add_to_board, name="add"),
    path("boards/<str:code>/", pages.board_detail, name="detail"),
    path("boards/<str:code>/edit", pages.board_edit, name="edit"),
    path("boards/<str:code>/delete", pages.board_delete, name="delete"),
    path("boards/<str:code>/order", items.reorder, name="order"),
    path("boards/<str:code>/download.zip", download.board_zip, name="zip"),
    path("boards/<str:code>/items/<str:item_code>/remove", items.remove_item, name="remove"),
    path("boards/<str:code>/items/<str:item_code>/move", items.move_item, name="move"),
    path("boards/<str:code>/items/<str:item_code>/note", items.set_note, name="note"),
    path("boards/<str:code>/items/<str:item_code>/review", items.review_item, name="review"),
    path("boards/<str:code>/items/<str:item_code>/comments", items.comment_item, name="comment"),
    # Share links: managed by members, opened by anyone with the token.
    path("boards/<str:code>/shares", sharing.create_share, name="share_create"),
    path(
        "boards/<str:code>/shares/<str:share_code>/revoke",
        sharing.revoke_share,
        name="share_revoke",
    ),
    path("b/<str:token>", sharing.public_board, name="public"),
    path("b/<str:token>/files/<str:item_code>", sharing.public_file, name="public_file"),
    path("b/<str:token>/thumbs/<str:item_code>", sharing.public_thumb, name="public_thumb"),
]
