"""Plumbing shared by the dashboard's apps: one module each, importing no app.

Modules here may import flora, Django and the standard library only (their models stay in
florasite.models), so that teams, techniques, runs and the sandbox can all use them without
importing one another.
"""
