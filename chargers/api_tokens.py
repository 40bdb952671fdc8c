"""API tokens (django-rest-knox): what a person or a script presents as
``Authorization: Token <token>``.

Knox stores only a SHA-512 digest of each token (and its first 15 of 64 characters, to tell
tokens apart), so the token itself is shown once, when it is made, and never again: not on the
tokens page, not in the admin. Every token expires (``API_TOKEN_HOURS``); its owner revokes
it on the tokens page or with ``POST /api/auth/logout/``; changing the password revokes
all of them (``User.save``).

Three ways to get one, all for the user themself: the *API tokens* page, ``POST
/api/auth/login/`` with HTTP Basic (the same login guard as every password check,
chargers/throttle.py), and ``manage.py create_api_token <username>`` for an operator.
"""

from __future__ import annotations

from django.db.models import QuerySet
from knox.models import AuthToken

from chargers.models import User


def create_api_token(user: User) -> tuple[AuthToken, str]:
    """A new token for ``user``: the stored row and the token in clear, to be shown once."""
    return AuthToken.objects.create(user=user)


def api_tokens_of(user: User) -> QuerySet[AuthToken]:
    """The user's own tokens, newest first; expired ones are left to knox, which deletes
    them when it next meets them."""
    return AuthToken.objects.filter(user=user).order_by("-created")


def revoke_api_token(user: User, digest: str) -> bool:
    """Revoke one of ``user``'s own tokens; False when it is not theirs or does not exist."""
    deleted, _ = AuthToken.objects.filter(user=user, digest=digest).delete()
    return deleted > 0
