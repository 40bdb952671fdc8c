"""Who may see and change what: the one place where object access is decided.

Every view, and the API, fetches rows through :func:`visible`; none filters by
manufacturer on its own. A model takes part by naming, in ``manufacturer_path``, the lookup
from its rows to the owning manufacturer. A model may also define
``manufacturer_visible_q()`` to hide rows from manufacturer users beyond ownership (a
test run that is not yet published, say).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, Q, QuerySet

if TYPE_CHECKING:
    from chargers.models import User

M = TypeVar("M", bound=Model)


def visible(queryset: QuerySet[M], user: User | AnonymousUser) -> QuerySet[M]:
    """The rows of ``queryset`` that ``user`` may see.

    Engineers and administrators see everything; a manufacturer user sees the rows of their
    own manufacturer (and, where the model says so, only the finished ones); anybody else
    sees nothing.
    """
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_engineer:
        return queryset
    if user.is_manufacturer_user and user.manufacturer_id is not None:
        model: Any = queryset.model
        path: str = model.manufacturer_path
        condition = Q(**{path: user.manufacturer_id})
        extra = getattr(model, "manufacturer_visible_q", None)
        if extra is not None:
            condition &= extra()
        return queryset.filter(condition)
    return queryset.none()


def can_edit(user: User | AnonymousUser) -> bool:
    """Only engineers and administrators create or change catalog entries, runs and verdicts."""
    return bool(user.is_authenticated and user.is_engineer)


def can_declare(user: User | AnonymousUser) -> bool:
    """Who fills in capability declarations: engineers, and manufacturer users for their own
    models (which rows they reach is still decided by :func:`visible`). Only engineers lock
    a declaration for runs (:func:`can_edit`)."""
    return bool(
        user.is_authenticated and (user.is_engineer or getattr(user, "is_manufacturer_user", False))
    )
