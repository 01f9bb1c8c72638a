"""A real OpenID Connect provider for tests: a tiny Django project on
django-oauth-toolkit's OIDC provider, run in its own process (``server.py``) by the
``oidc_provider`` fixture (``fixtures.py``). Its people and their claims come from
``people.json``; a test can make it misbehave (``Provider.misbehave``)."""
