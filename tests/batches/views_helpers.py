"""Posting the batch forms as a browser does (`tests.batches.views_helpers`)."""

from __future__ import annotations

import re
from html import unescape

from django.test import Client

TAROT = "tech_tarot-pull"
LOOKBOOK = "tech_product-lookbook-grid"


def token_of(client: Client, technique_id: str) -> str:
    page = client.get(f"/batches/new/{technique_id}")
    assert page.status_code == 200
    match = re.search(r'name="token" value="([^"]+)"', page.content.decode())
    assert match
    return unescape(match.group(1))


def post(client: Client, technique_id: str, **data: str):
    data.setdefault("token", token_of(client, technique_id))
    return client.post(f"/batches/new/{technique_id}", data)


def confirm(client: Client, technique_id: str, **data: str):
    """Preview, then press Start with what the preview's form holds."""
    preview = post(client, technique_id, **data)
    assert preview.status_code == 200, preview.content.decode()[:2000]
    html = preview.content.decode()
    fields = dict(
        (unescape(name), unescape(value))
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    )
    fields.pop("csrfmiddlewaretoken", None)
    return client.post(f"/batches/new/{technique_id}", fields)
