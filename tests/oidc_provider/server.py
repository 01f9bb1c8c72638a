"""Run the test provider: ``python -m tests.oidc_provider.server PORT``.

Migrates its own SQLite database, loads ``people.json`` (users and the two clients
ecitizen signs in with), then serves on 127.0.0.1:PORT (threaded wsgiref) until
killed. The environment names the database, issuer, keys and switch (``fixtures.py``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return


def _load_people() -> None:
    from django.contrib.auth import get_user_model
    from oauth2_provider.models import get_application_model

    data = json.loads((Path(__file__).resolve().parent / "people.json").read_text())
    user_model = get_user_model()
    for person in data["people"]:
        user, _ = user_model.objects.get_or_create(username=person["username"])
        user.set_password(person["password"])
        user.save()
    application = get_application_model()
    for client in data["clients"]:
        callback = f"/accounts/oidc/{client['provider_id']}/login/callback/"
        application.objects.update_or_create(
            client_id=client["client_id"],
            defaults={
                "name": client["provider_id"],
                "client_secret": client["secret"],
                "client_type": application.CLIENT_CONFIDENTIAL,
                "authorization_grant_type": application.GRANT_AUTHORIZATION_CODE,
                "algorithm": application.RS256_ALGORITHM,
                "skip_authorization": True,
                "redirect_uris": " ".join(
                    f"http://{host}{callback}" for host in ("testserver", "127.0.0.1", "localhost")
                ),
            },
        )


def _not_ready(environ: dict[str, object], start_response: object) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])  # type: ignore[operator]
    return [b"starting"]


def main() -> None:
    """Bind first (port 0: any free one), so that the issuer, which names the port, is
    known before Django starts; the port is written to ``OIDC_TEST_PORT_FILE``."""
    server = make_server(
        "127.0.0.1", int(sys.argv[1]), _not_ready, server_class=_Server, handler_class=_QuietHandler
    )
    port = server.server_address[1]
    os.environ["OIDC_TEST_ISSUER"] = f"http://127.0.0.1:{port}/o"
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    call_command("migrate", verbosity=0, interactive=False)
    _load_people()
    server.set_app(get_wsgi_application())
    Path(os.environ["OIDC_TEST_PORT_FILE"]).write_text(str(port))
    server.serve_forever()


if __name__ == "__main__":
    main()
