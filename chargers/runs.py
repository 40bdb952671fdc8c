"""The one seam through which chargers learns about certification runs.

certification (the process) uses chargers (what is certified and how it talks), never the
other way: no module of chargers imports certification. Where chargers needs to know about
a run, certification tells it, by registering a ``RunDirectory`` when the apps are ready
(``CertificationConfig.ready``). Two things cross the seam:

- ``current_attempt(charge_point_pk)``: the run that holds a charge point (the one in
  progress on it) and its running step attempt. The OCPP consumer, the connection events,
  file transfers and commands sent from the charge point page attach their evidence to it.
- ``overview(user)``: the run data the catalog's pages show (the home page's open runs and
  published reports), already filtered to what ``user`` may see.

Without a registered directory (chargers used on its own) nothing belongs to a run and the
overview is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Attempt:
    """The run holding a charge point and its running step attempt (ids; None: none)."""

    run_id: int | None = None
    step_result_id: int | None = None


NO_ATTEMPT = Attempt()


@dataclass(frozen=True)
class Overview:
    """Run data for the catalog's pages: model instances of certification, read-only."""

    open_runs: list[Any] = field(default_factory=list)
    published_reports: list[Any] = field(default_factory=list)


class RunDirectory(Protocol):
    def current_attempt(self, charge_point_pk: int) -> Attempt: ...

    def overview(self, user: Any) -> Overview: ...


_directory: RunDirectory | None = None


def register(directory: RunDirectory) -> None:
    """Called once by certification at start-up; a later call replaces the directory."""
    global _directory
    _directory = directory


def current_attempt(charge_point_pk: int) -> Attempt:
    """Synchronous (database) call: from async code wrap it in ``database_sync_to_async``."""
    return NO_ATTEMPT if _directory is None else _directory.current_attempt(charge_point_pk)


def overview(user: Any) -> Overview:
    return Overview() if _directory is None else _directory.overview(user)
