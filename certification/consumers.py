"""The browser side of the step console: a websocket per open console that streams the
run's frames as they are committed and tells the page when a step changes."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from certification.models import TestRun
from chargers.access import can_edit, visible
from chargers.models import run_group


class RunConsoleConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        run_id = int(self.scope["url_route"]["kwargs"]["run_id"])
        allowed = user is not None and can_edit(user) and await self._run_exists(user, run_id)
        if not allowed:
            await self.close()  # before accept: HTTP 403
            return
        self.group = run_group(run_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    @database_sync_to_async
    def _run_exists(self, user: Any, run_id: int) -> bool:
        return visible(TestRun.objects.all(), user).filter(pk=run_id).exists()

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        """The console only listens; commands go through the HTTP endpoints (CSRF, audit)."""

    async def run_frames(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "frames", "frames": event["frames"]})

    async def run_step(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "step", "step_result_id": event["step_result_id"]})
