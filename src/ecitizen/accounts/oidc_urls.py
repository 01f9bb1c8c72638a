"""Where the OpenID Connect providers' sign-in starts and returns.

Included by ``ecitizen.urls`` at ``accounts/oidc/`` *before* allauth's URLs: the same
addresses as allauth's own OpenID Connect views (so a redirect URI registered for
allauth keeps working), served by our strict views (``accounts.oidc``) instead.
"""

from django.urls import path

from ecitizen.accounts import oidc

urlpatterns = [
    path("<str:provider_id>/login/", oidc.login_view, name="oidc_login"),
    path("<str:provider_id>/login/callback/", oidc.callback_view, name="oidc_callback"),
]
