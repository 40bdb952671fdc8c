"""The simulated charger's answers to every CSMS-initiated OCPP 1.6 call.

An @on handler only decides the answer; anything that sends follows in an @after task
(awaiting a call inside @on would deadlock the connection). The library runs @after even when
the answer was a refusal, so @on notes the calls whose follow-up is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action

from chargers.simulator import transfers
from chargers.simulator.station import ChargeStation, ConnectionLost, Connector, ocpp_now

logger = logging.getLogger(__name__)

TRIGGERABLE = {
    "BootNotification",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "Heartbeat",
    "MeterValues",
    "StatusNotification",
}


class SimulatedCharger(ChargeStation):
    """A charge point that plays scenarios against a CSMS and answers its calls plausibly."""

    def _follow_up(self, unique_id: str) -> bool:
        if unique_id in self._accepted_calls:
            self._accepted_calls.discard(unique_id)
            return True
        return False

    def _targets(self, connector_id: int) -> list[Connector] | None:
        if connector_id == 0:
            return list(self.connectors.values())
        connector = self.connectors.get(connector_id)
        return None if connector is None else [connector]

    @on(Action.change_availability)
    def on_change_availability(
        self, connector_id: int, type: str, call_unique_id: str, **_: Any
    ) -> call_result.ChangeAvailability:
        targets = self._targets(connector_id)
        if targets is None:
            return call_result.ChangeAvailability(status="Rejected")
        self._accepted_calls.add(call_unique_id)
        busy = any(c.transaction_id is not None for c in targets)
        return call_result.ChangeAvailability(status="Scheduled" if busy else "Accepted")

    @after(Action.change_availability)
    def after_change_availability(
        self, connector_id: int, type: str, call_unique_id: str, **_: Any
    ) -> None:
        if self._follow_up(call_unique_id):
            self._spawn(self._change_availability(connector_id, type == "Operative"))

    async def _change_availability(self, connector_id: int, operative: bool) -> None:
        if connector_id == 0 and self.station_operative != operative:
            self.station_operative = operative
            await self.request(self._status_payload(0, self._station_status()))
        for connector in self._targets(connector_id) or []:
            if connector.transaction_id is not None:
                connector.scheduled_operative = operative
                continue
            connector.operative = operative
            status = self._resting_status(connector)
            if status != connector.status:
                await self._set_status(connector, status)

    @on(Action.change_configuration)
    def on_change_configuration(
        self, key: str, value: str, **_: Any
    ) -> call_result.ChangeConfiguration:
        status = self.configuration.change(key, value)
        return call_result.ChangeConfiguration(status=status)

    @on(Action.get_configuration)
    def on_get_configuration(
        self, key: list[str] | None = None, **_: Any
    ) -> call_result.GetConfiguration:
        known, unknown = self.configuration.report(key)
        return call_result.GetConfiguration(configuration_key=known, unknown_key=unknown or None)

    @on(Action.clear_cache)
    def on_clear_cache(self, **_: Any) -> call_result.ClearCache:
        self.auth_cache.clear()
        return call_result.ClearCache(status="Accepted")

    @on(Action.data_transfer)
    def on_data_transfer(self, vendor_id: str, **_: Any) -> call_result.DataTransfer:
        known = vendor_id == self.config.vendor
        return call_result.DataTransfer(status="Accepted" if known else "UnknownVendorId")

    @on(Action.remote_start_transaction)
    def on_remote_start_transaction(
        self, id_tag: str, call_unique_id: str, connector_id: int | None = None, **_: Any
    ) -> call_result.RemoteStartTransaction:
        if connector_id is None:
            free = [c for c in self.connectors.values() if self._can_start(c)]
            connector = free[0] if free else None
        else:
            connector = self.connectors.get(connector_id)
        if connector is None or not self._can_start(connector):
            return call_result.RemoteStartTransaction(status="Rejected")
        connector.authorized_tag = id_tag  # claims the connector before the follow-up runs
        self._accepted_calls.add(call_unique_id)
        return call_result.RemoteStartTransaction(status="Accepted")

    def _can_start(self, connector: Connector) -> bool:
        return (
            connector.transaction_id is None
            and connector.authorized_tag is None
            and connector.operative
            and self.station_operative
            and not connector.faulted
        )

    @after(Action.remote_start_transaction)
    def after_remote_start_transaction(self, id_tag: str, call_unique_id: str, **_: Any) -> None:
        if not self._follow_up(call_unique_id):
            return
        for connector in self.connectors.values():
            if connector.authorized_tag == id_tag and connector.transaction_id is None:
                self._spawn(self._remote_start(connector, id_tag))
                return

    async def _remote_start(self, connector: Connector, id_tag: str) -> None:
        must_authorize = self.configuration.get_bool("AuthorizeRemoteTxRequests")
        if must_authorize and await self.authorize(id_tag) != "Accepted":
            connector.authorized_tag = None
            await self._set_status(connector, self._resting_status(connector))
            return
        if connector.plugged:
            connector.authorized_tag = None
            await self._start_transaction(connector, id_tag)
        else:
            await self._set_status(connector, "Preparing")
            self._arm_connection_timeout(connector)

    @on(Action.remote_stop_transaction)
    def on_remote_stop_transaction(
        self, transaction_id: int, call_unique_id: str, **_: Any
    ) -> call_result.RemoteStopTransaction:
        running = any(c.transaction_id == transaction_id for c in self.connectors.values())
        if running:
            self._accepted_calls.add(call_unique_id)
        return call_result.RemoteStopTransaction(status="Accepted" if running else "Rejected")

    @after(Action.remote_stop_transaction)
    def after_remote_stop_transaction(
        self, transaction_id: int, call_unique_id: str, **_: Any
    ) -> None:
        if not self._follow_up(call_unique_id):
            return
        for connector in self.connectors.values():
            if connector.transaction_id == transaction_id:
                self._spawn(self._stop_transaction(connector, "Remote"))

    @on(Action.reset)
    def on_reset(self, type: str, **_: Any) -> call_result.Reset:
        return call_result.Reset(status="Accepted")

    @after(Action.reset)
    def after_reset(self, type: str, **_: Any) -> None:
        hard = type == "Hard"
        twice = hard and "double-reboot" in self.misbehaviours
        self._spawn(self.reboot("HardReset" if hard else "SoftReset", twice=twice))

    @on(Action.unlock_connector)
    def on_unlock_connector(
        self, connector_id: int, call_unique_id: str, **_: Any
    ) -> call_result.UnlockConnector:
        if self.config.fixed_cable:
            return call_result.UnlockConnector(status="NotSupported")
        if connector_id not in self.connectors:
            return call_result.UnlockConnector(status="UnlockFailed")
        self._accepted_calls.add(call_unique_id)
        return call_result.UnlockConnector(status="Unlocked")

    @after(Action.unlock_connector)
    def after_unlock_connector(self, connector_id: int, call_unique_id: str, **_: Any) -> None:
        if self._follow_up(call_unique_id):
            connector = self.connectors[connector_id]
            self._spawn(self._stop_transaction(connector, "UnlockCommand"))

    @on(Action.get_diagnostics)
    def on_get_diagnostics(self, location: str, **_: Any) -> call_result.GetDiagnostics:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        self._diagnostics_file = f"diagnostics-{self.id}-{stamp}.txt"
        return call_result.GetDiagnostics(file_name=self._diagnostics_file)

    @after(Action.get_diagnostics)
    def after_get_diagnostics(
        self,
        location: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ) -> None:
        attempts = 1 + (retries or 0)
        self._spawn(
            self._upload_diagnostics(location, self._diagnostics_file, attempts, retry_interval)
        )

    async def _upload_diagnostics(
        self, location: str, file_name: str, attempts: int, retry_interval: int | None
    ) -> None:
        if "ftp-only-diagnostics" in self.misbehaviours and location.lower().startswith("http"):
            await self._diagnostics_status("UploadFailed")
            self.diagnostics_status = "Idle"
            return
        await self._diagnostics_status("Uploading")
        content = self._diagnostics_report().encode()
        for attempt in range(attempts):
            try:
                await asyncio.to_thread(
                    transfers.upload_diagnostics,
                    location,
                    file_name,
                    content,
                    self.config.transfer_timeout,
                )
            except transfers.TransferFailed as error:
                logger.warning("%s: %s", self.id, error)
                if attempt + 1 < attempts:
                    await self.sleep(retry_interval or 60)
            else:
                await self._diagnostics_status("Uploaded")
                break
        else:
            await self._diagnostics_status("UploadFailed")
        self.diagnostics_status = "Idle"

    async def _diagnostics_status(self, status: str) -> None:
        self.diagnostics_status = status
        await self.request(call.DiagnosticsStatusNotification(status=status))

    def _diagnostics_report(self) -> str:
        lines = [
            f"Diagnostics of {self.id} ({self.config.vendor} {self.config.model})",
            f"generated {ocpp_now()}, firmware {self.firmware_version}, boots {self.boot_count}",
            *(f"connector {c.connector_id}: {c.status}" for c in self.connectors.values()),
            f"frames exchanged: {len(self.frames)}",
        ]
        return "\n".join(lines) + "\n"

    @on(Action.update_firmware)
    def on_update_firmware(self, location: str, **_: Any) -> call_result.UpdateFirmware:
        return call_result.UpdateFirmware()

    @after(Action.update_firmware)
    def after_update_firmware(
        self,
        location: str,
        retrieve_date: str,
        retries: int | None = None,
        retry_interval: int | None = None,
        **_: Any,
    ) -> None:
        self._spawn(
            self._update_firmware(location, retrieve_date, 1 + (retries or 0), retry_interval)
        )

    async def _update_firmware(
        self, location: str, retrieve_date: str, attempts: int, retry_interval: int | None
    ) -> None:
        """Downloading -> Downloaded -> Installing -> reboot -> Installed, or the failure."""
        with contextlib.suppress(ValueError):
            when = datetime.datetime.fromisoformat(retrieve_date.replace("Z", "+00:00"))
            now = datetime.datetime.now(datetime.UTC)
            if when.tzinfo is not None and when > now:
                await self.sleep((when - now).total_seconds())
        await self._firmware_status("Downloading")
        image: transfers.FirmwareImage | None = None
        for attempt in range(attempts):
            try:
                image = await asyncio.to_thread(
                    transfers.fetch_firmware, location, self.config.transfer_timeout
                )
                break
            except transfers.TransferFailed as error:
                logger.warning("%s: %s", self.id, error)
                if attempt + 1 < attempts:
                    await self.sleep(retry_interval or 60)
        if image is None:
            await self._firmware_status("DownloadFailed", final=True)
            return
        if not image.looks_valid and "download-failed-instead-of-installation-failed" in (
            self.misbehaviours
        ):
            await self._firmware_status("DownloadFailed", final=True)
            return
        await self._firmware_status("Downloaded")
        await self.wait_until(
            lambda: all(c.transaction_id is None for c in self.connectors.values())
        )
        await self._firmware_status("Installing")
        if not image.looks_valid:
            await self._firmware_status("InstallationFailed", final=True)
            return
        for connector in self.connectors.values():
            await self._set_status(connector, "Unavailable")
        self.firmware_version = image.version or f"{self.firmware_version}+1"
        await self._restart()
        await self._firmware_status("Installed", final=True)

    async def _firmware_status(self, status: str, *, final: bool = False) -> None:
        self.firmware_status = status
        await self.request(call.FirmwareStatusNotification(status=status))
        if final:
            self.firmware_status = "Idle"

    @on(Action.trigger_message)
    def on_trigger_message(
        self,
        requested_message: str,
        call_unique_id: str,
        connector_id: int | None = None,
        **_: Any,
    ) -> call_result.TriggerMessage:
        if requested_message not in TRIGGERABLE:
            return call_result.TriggerMessage(status="NotImplemented")
        # Connector 0 is the station: it has a meter and a status of its own.
        per_connector = requested_message in {"MeterValues", "StatusNotification"}
        known = connector_id is None or connector_id == 0 or connector_id in self.connectors
        if per_connector and not known:
            return call_result.TriggerMessage(status="Rejected")
        if (
            requested_message == "MeterValues"
            and "no-metervalues-trigger-when-idle" in self.misbehaviours
            and all(c.transaction_id is None for c in self.connectors.values())
        ):
            return call_result.TriggerMessage(status="Rejected")
        self._accepted_calls.add(call_unique_id)
        return call_result.TriggerMessage(status="Accepted")

    @after(Action.trigger_message)
    def after_trigger_message(
        self,
        requested_message: str,
        call_unique_id: str,
        connector_id: int | None = None,
        **_: Any,
    ) -> None:
        if self._follow_up(call_unique_id):
            self._spawn(self._send_triggered(requested_message, connector_id))

    async def _send_triggered(self, message: str, connector_id: int | None) -> None:
        if message == "BootNotification":
            with contextlib.suppress(ConnectionLost):  # may come while Pending: not online yet
                await self._send_boot()
        elif message == "Heartbeat":
            await self.request(call.Heartbeat())
        elif message == "DiagnosticsStatusNotification":
            await self.request(call.DiagnosticsStatusNotification(status=self.diagnostics_status))
        elif message == "FirmwareStatusNotification":
            await self.request(call.FirmwareStatusNotification(status=self.firmware_status))
        elif message == "StatusNotification":
            if connector_id in (None, 0):
                await self.request(self._status_payload(0, self._station_status()))
            for connector in self._triggered_connectors(connector_id, station=False):
                await self.request(self._status_payload(connector.connector_id, connector.status))
        elif message == "MeterValues":
            for connector in self._triggered_connectors(connector_id, station=True):
                await self.request(self._meter_values(connector, "Trigger"))

    def _triggered_connectors(self, connector_id: int | None, *, station: bool) -> list[Connector]:
        """No connectorId means every connector; 0 means the station itself, which has a meter
        (``station``: reported as all connectors) but no status of a connector."""
        if connector_id is None or (connector_id == 0 and station):
            return list(self.connectors.values())
        return [self.connectors[connector_id]] if connector_id in self.connectors else []

    @on(Action.send_local_list)
    def on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> call_result.SendLocalList:
        entries = local_authorization_list or []
        if not self.configuration.get_bool("LocalAuthListEnabled"):
            return call_result.SendLocalList(status="NotSupported")
        if len(entries) > self.configuration.get_int("SendLocalListMaxLength"):
            return call_result.SendLocalList(status="Failed")
        if update_type == "Full":
            self.local_list = {e["id_tag"]: e.get("id_tag_info") for e in entries}
        else:
            if list_version <= self.local_list_version:
                return call_result.SendLocalList(status="VersionMismatch")
            for entry in entries:
                if entry.get("id_tag_info") is None:
                    self.local_list.pop(entry["id_tag"], None)
                else:
                    self.local_list[entry["id_tag"]] = entry["id_tag_info"]
        self.local_list_version = list_version
        return call_result.SendLocalList(status="Accepted")

    @on(Action.get_local_list_version)
    def on_get_local_list_version(self, **_: Any) -> call_result.GetLocalListVersion:
        return call_result.GetLocalListVersion(list_version=self.local_list_version)

    @on(Action.reserve_now)
    def on_reserve_now(
        self,
        connector_id: int,
        id_tag: str,
        reservation_id: int,
        call_unique_id: str,
        parent_id_tag: str | None = None,
        **_: Any,
    ) -> call_result.ReserveNow:
        """OCPP 1.6 §5.13: Accepted, or why not: Faulted, Unavailable, Occupied (busy or
        reserved under another reservationId), Rejected (an unknown connector, or connector
        0 while ReserveConnectorZeroSupported is false)."""
        connector = self.connectors.get(connector_id)
        if parent_id_tag:
            self.reservation_parents[reservation_id] = parent_id_tag
        if connector_id == 0 and self.configuration.get_bool("ReserveConnectorZeroSupported"):
            status = self._reserve_station(reservation_id, id_tag)
        elif connector is None:
            status = "Rejected"
        elif "reservation-ignores-connector-state" in self.misbehaviours:
            connector.reservation = (reservation_id, id_tag)
            status = "Accepted"
        elif connector.faulted:
            status = "Faulted"
        elif not connector.operative or not self.station_operative:
            status = "Unavailable"
        elif self._occupied(connector, reservation_id):
            status = "Occupied"
        else:
            connector.reservation = (reservation_id, id_tag)
            status = "Accepted"
        if status == "Accepted":
            self._accepted_calls.add(call_unique_id)
        return call_result.ReserveNow(status=status)

    def _occupied(self, connector: Connector, reservation_id: int) -> bool:
        return (
            connector.transaction_id is not None
            or connector.plugged
            or connector.authorized_tag is not None
            or (connector.reservation is not None and connector.reservation[0] != reservation_id)
        )

    def _reserve_station(self, reservation_id: int, id_tag: str) -> str:
        """A reservation of connector 0: one connector is kept for the idTag, whichever it
        takes (§5.13); the answer speaks for all connectors."""
        connectors = list(self.connectors.values())
        if all(c.faulted for c in connectors):
            return "Faulted"
        if not self.station_operative or all(not c.operative for c in connectors):
            return "Unavailable"
        held = self.station_reservation
        free = [
            c for c in connectors if c.operative and not c.faulted and not self._occupied(c, -1)
        ]
        if not free or (held is not None and held[0] != reservation_id):
            return "Occupied"
        self.station_reservation = (reservation_id, id_tag)
        return "Accepted"

    @after(Action.reserve_now)
    def after_reserve_now(
        self,
        connector_id: int,
        expiry_date: str,
        reservation_id: int,
        call_unique_id: str,
        **_: Any,
    ) -> None:
        if not self._follow_up(call_unique_id):
            return
        connector = self.connectors.get(connector_id)  # None: connector 0, no status of its own
        if connector is not None:
            self._spawn(self._set_status(connector, "Reserved"))
        if "reservation-never-expires" not in self.misbehaviours:
            self._spawn(self._expire_reservation(connector, reservation_id, expiry_date))

    async def _expire_reservation(
        self, connector: Connector | None, reservation_id: int, expiry_date: str
    ) -> None:
        """At expiryDate the reservation ends and the connector is Available again (§5.13);
        ``connector`` None: the reservation of connector 0."""
        try:
            expiry = datetime.datetime.fromisoformat(expiry_date.replace("Z", "+00:00"))
        except ValueError:
            return
        if expiry.tzinfo is None:
            expiry = expiry.replace(tzinfo=datetime.UTC)
        delay = (expiry - datetime.datetime.now(datetime.UTC)).total_seconds()
        await asyncio.sleep(max(0.0, delay))  # wall-clock time: expiryDate is a date
        if connector is None:
            if self.station_reservation is not None and (
                self.station_reservation[0] == reservation_id
            ):
                self.station_reservation = None
            return
        if connector.reservation is not None and connector.reservation[0] == reservation_id:
            connector.reservation = None
            await self._set_status(connector, self._resting_status(connector))

    @on(Action.cancel_reservation)
    def on_cancel_reservation(
        self, reservation_id: int, call_unique_id: str, **_: Any
    ) -> call_result.CancelReservation:
        if self.station_reservation is not None and self.station_reservation[0] == reservation_id:
            self.station_reservation = None
            return call_result.CancelReservation(status="Accepted")
        for connector in self.connectors.values():
            if connector.reservation is not None and connector.reservation[0] == reservation_id:
                connector.reservation = None
                self._accepted_calls.add(call_unique_id)
                return call_result.CancelReservation(status="Accepted")
        return call_result.CancelReservation(status="Rejected")

    @after(Action.cancel_reservation)
    def after_cancel_reservation(self, call_unique_id: str, **_: Any) -> None:
        if self._follow_up(call_unique_id):
            for connector in self.connectors.values():
                if connector.status == "Reserved" and connector.reservation is None:
                    self._spawn(self._set_status(connector, self._resting_status(connector)))

    @on(Action.set_charging_profile)
    def on_set_charging_profile(
        self, connector_id: int, cs_charging_profiles: dict[str, Any], **_: Any
    ) -> call_result.SetChargingProfile:
        """§5.16: a TxProfile needs a transaction running on its connector, and the
        transactionId it names (if any) must be that transaction's; else Rejected. The
        `tx-profile-without-transaction` misbehaviour accepts it anyway."""
        connector = self.connectors.get(connector_id)
        purpose = cs_charging_profiles.get("charging_profile_purpose")
        named = cs_charging_profiles.get("transaction_id")
        without_transaction = (
            purpose == "TxProfile"
            and "tx-profile-without-transaction" not in self.misbehaviours
            and (
                connector is None
                or connector.transaction_id is None
                or named not in (None, connector.transaction_id)
            )
        )
        if (connector_id != 0 and connector is None) or without_transaction:
            status = "Rejected"
        else:
            profile_id = cs_charging_profiles.get("charging_profile_id")
            self.charging_profiles = [
                (c, p)
                for c, p in self.charging_profiles
                if p.get("charging_profile_id") != profile_id
            ]
            self.charging_profiles.append((connector_id, cs_charging_profiles))
            status = "Accepted"
        return call_result.SetChargingProfile(status=status)

    @on(Action.clear_charging_profile)
    def on_clear_charging_profile(
        self,
        id: int | None = None,
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        stack_level: int | None = None,
        **_: Any,
    ) -> call_result.ClearChargingProfile:
        def matches(entry: tuple[int, dict[str, Any]]) -> bool:
            connector, profile = entry
            if id is not None:
                return bool(profile.get("charging_profile_id") == id)
            return (
                (connector_id is None or connector == connector_id)
                and (
                    charging_profile_purpose is None
                    or profile.get("charging_profile_purpose") == charging_profile_purpose
                )
                and (stack_level is None or profile.get("stack_level") == stack_level)
            )

        kept = [entry for entry in self.charging_profiles if not matches(entry)]
        cleared = len(kept) < len(self.charging_profiles)
        self.charging_profiles = kept
        return call_result.ClearChargingProfile(status="Accepted" if cleared else "Unknown")

    @on(Action.get_composite_schedule)
    def on_get_composite_schedule(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None, **_: Any
    ) -> call_result.GetCompositeSchedule:
        """The limits the installed profiles set from now for `duration` seconds (§5.7):
        at each moment the prevailing TxDefaultProfile (highest stackLevel among those
        valid then, the connector's own over connector 0's) capped by the prevailing
        ChargePointMaxProfile; the hardware's limit where none sets one. A profile without
        startSchedule counts from now. Limits in A are 230 V on its numberPhases (3)."""
        if connector_id != 0 and connector_id not in self.connectors:
            return call_result.GetCompositeSchedule(status="Rejected")
        unit = charging_rate_unit or "A"
        volts = 230.0 * 3
        start = datetime.datetime.now(datetime.UTC)
        moments = {0.0, float(duration)}
        for _connector, profile in self.charging_profiles:
            moments |= set(self._profile_moments(profile, start, duration))
        periods: list[dict[str, Any]] = []
        for offset in sorted(m for m in moments if m < duration):
            at = start + datetime.timedelta(seconds=offset)
            watts = self._composite_w(connector_id, at, start)
            limit = watts if unit == "W" else round(watts / volts, 1)
            if not periods or periods[-1]["limit"] != limit:
                periods.append({"start_period": int(offset), "limit": limit})
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=start.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": unit,
                "charging_schedule_period": periods,
            },
        )

    def _profile_start(self, profile: dict[str, Any], now: datetime.datetime) -> datetime.datetime:
        stamp = (profile.get("charging_schedule") or {}).get("start_schedule")
        if isinstance(stamp, str):
            with contextlib.suppress(ValueError):
                return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        return now

    def _profile_moments(
        self, profile: dict[str, Any], now: datetime.datetime, duration: int
    ) -> list[float]:
        """Offsets from `now` (within `duration`) where the profile's limit may change."""
        schedule = profile.get("charging_schedule") or {}
        begin = self._profile_start(profile, now)
        offsets = [
            float(p.get("start_period", 0)) for p in schedule.get("charging_schedule_period") or []
        ]
        if schedule.get("duration") is not None:
            offsets.append(float(schedule["duration"]))
        moments = [(begin - now).total_seconds() + o for o in offsets]
        for key in ("valid_from", "valid_to"):
            if isinstance(profile.get(key), str):
                moment = datetime.datetime.fromisoformat(profile[key].replace("Z", "+00:00"))
                moments.append((moment - now).total_seconds())
        return [m for m in moments if 0 < m < duration]

    def _profile_w(
        self, profile: dict[str, Any], at: datetime.datetime, now: datetime.datetime
    ) -> float | None:
        """The limit a profile sets at `at`, in W; None when it sets none then."""
        if "charging-profile-validity-ignored" not in self.misbehaviours:
            for key, outside in (("valid_from", lambda t: at < t), ("valid_to", lambda t: at >= t)):
                if isinstance(profile.get(key), str):
                    moment = datetime.datetime.fromisoformat(profile[key].replace("Z", "+00:00"))
                    if outside(moment):
                        return None
        schedule = profile.get("charging_schedule") or {}
        offset = (at - self._profile_start(profile, now)).total_seconds()
        if offset < 0 or (schedule.get("duration") is not None and offset >= schedule["duration"]):
            return None
        limit: float | None = None
        periods = sorted(
            schedule.get("charging_schedule_period") or [], key=lambda p: p.get("start_period", 0)
        )
        for period in periods:
            if period.get("start_period", 0) <= offset:
                phases = period.get("number_phases") or 3
                watts = float(period["limit"])
                limit = watts if schedule.get("charging_rate_unit") == "W" else watts * 230 * phases
        return limit

    def _composite_w(
        self, connector_id: int, at: datetime.datetime, now: datetime.datetime
    ) -> float:
        def prevailing(purpose: str, on: int) -> float | None:
            setting = [
                (int(p.get("stack_level", 0)), limit)
                for c, p in self.charging_profiles
                if c == on
                and p.get("charging_profile_purpose") == purpose
                and (limit := self._profile_w(p, at, now)) is not None
            ]
            return max(setting)[1] if setting else None

        default = prevailing("TxDefaultProfile", connector_id)
        if default is None:
            default = prevailing("TxDefaultProfile", 0)
        limits = [x for x in (default, prevailing("ChargePointMaxProfile", 0)) if x is not None]
        return min(limits) if limits else float(self.config.power_w)
