"""Single sign-on with OpenID Connect, as HelseID does it (authlib's Django client).

* authorization code flow with PKCE (``code_challenge_method=S256``), ``state`` and ``nonce``;
* the client authenticates at the token endpoint with a signed JWT (``private_key_jwt``, RS256,
  the key from ``PHT_OIDC_PRIVATE_KEY``), never a shared secret;
* the ID token is checked by authlib: signature against the provider's JWKS, issuer, audience,
  expiry, issued-at and the nonce of this sign-in;
* the HPR number claim (``PHT_OIDC_HPR_CLAIM``, HelseID's ``helseid://claims/hpr/hpr_number``)
  names the practitioner; the user, the practice and the role come from pht's own profiles
  (:func:`member_for_hpr`). Someone without a profile gets no access, and that is audited;
* logout ends the pht session and sends the browser to the provider's end-session endpoint
  with the ID token as hint (RP-initiated logout).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from authlib.integrations.django_client import OAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from django.conf import settings
from django.contrib.auth import get_user_model

from pht.app.accounts.models import Profile

#: The name of the provider in authlib's registry and in the session.
NAME = "helseid"
#: Session key of the ID token (the logout hint).
ID_TOKEN = "pht_oidc_id_token"  # nosec B105


def enabled() -> bool:
    """Whether single sign-on is configured (``PHT_OIDC_ISSUER``)."""
    return bool(settings.PHT_OIDC_ISSUER)


@cache
def _registry(issuer: str, client_id: str) -> Any:
    oauth = OAuth()
    headers = {"kid": settings.PHT_OIDC_KEY_ID} if settings.PHT_OIDC_KEY_ID else None
    oauth.register(
        NAME,
        client_id=client_id,
        client_secret=settings.PHT_OIDC_PRIVATE_KEY,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": " ".join(settings.PHT_OIDC_SCOPES),
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": PrivateKeyJWT.name,
            "timeout": 10,
        },
        client_auth_methods=[PrivateKeyJWT(headers=headers, alg="RS256")],
    )
    return oauth.create_client(NAME)


def client() -> Any:
    """authlib's client of the configured provider."""
    return _registry(settings.PHT_OIDC_ISSUER, settings.PHT_OIDC_CLIENT_ID)


def hpr_number(claims: dict[str, Any]) -> str:
    """The HPR number in the ID token's claims ('' when there is none)."""
    value = claims.get(settings.PHT_OIDC_HPR_CLAIM)
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value or "").strip()


def member_for_hpr(hpr: str) -> Any:
    """The active user whose profile is the practitioner with HPR number *hpr*, or None.

    Membership and role are pht's own records: the practitioner must be active in a practice
    and linked to exactly one active user's profile; anything else gives no access.
    """
    if not hpr.isdigit():
        return None
    profiles = list(
        Profile.objects.filter(
            practitioner__practitioner_id=hpr,
            practitioner__active=True,
            user__is_active=True,
        ).select_related("user")[:2]
    )
    if len(profiles) != 1:
        return None
    return profiles[0].user


def user_model() -> Any:
    """The user model (for the login backend name)."""
    return get_user_model()
