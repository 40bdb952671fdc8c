"""Create a charge point identity from the command line (labs script their setup)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chargers import services
from chargers.models import ChargerModel, FirmwareVersion


class Command(BaseCommand):
    help = "Create a charge point identity; prints its AuthorizationKey once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("charge_point_id")
        auth = parser.add_mutually_exclusive_group()
        auth.add_argument("--password", help="AuthorizationKey (16-40 chars); generated if absent")
        auth.add_argument(
            "--no-auth", action="store_true", help="Security profile 0: no authentication"
        )
        parser.add_argument("--model", help='Charger model, e.g. "C8EU" or "Xcharge C8EU"')
        parser.add_argument("--firmware", help='Firmware version of that model, e.g. "V1.0.0"')
        parser.add_argument(
            "--heartbeat-interval", type=int, default=None, help="Seconds, sent at boot"
        )
        parser.add_argument(
            "--bench-url",
            default="",
            help="the test bench hook of the charger (docs/bench-hook.md), for unattended runs",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        fields: dict[str, Any] = {}
        if options["model"]:
            fields["charger_model"] = self._model(options["model"])
        if options["firmware"]:
            if "charger_model" not in fields:
                raise CommandError("--firmware needs --model")
            try:
                fields["firmware_version"] = FirmwareVersion.objects.get(
                    charger_model=fields["charger_model"], version=options["firmware"]
                )
            except FirmwareVersion.DoesNotExist:
                raise CommandError(
                    f"{fields['charger_model']} has no firmware {options['firmware']!r}"
                ) from None
        if options["heartbeat_interval"] is not None:
            fields["heartbeat_interval"] = options["heartbeat_interval"]
        if options["bench_url"]:
            fields["bench_url"] = options["bench_url"]
        key = options["password"]
        if key is not None and not 16 <= len(key) <= 40:
            raise CommandError("An AuthorizationKey has 16 to 40 characters (OCPP 1.6 security).")
        try:
            charge_point, key = services.create_charge_point(
                options["charge_point_id"],
                authorization_key=key,
                no_auth=options["no_auth"],
                **fields,
            )
        except ValidationError as error:
            messages = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
            raise CommandError(messages) from None
        self.stdout.write(self.style.SUCCESS(f"Charge point {charge_point} created."))
        if key:
            self.stdout.write(f"AuthorizationKey (shown once): {key}")
        else:
            self.stdout.write("Security profile 0: connects without authentication.")

    def _model(self, name: str) -> ChargerModel:
        candidates = [
            m
            for m in ChargerModel.objects.select_related("manufacturer")
            if name.lower() in (m.name.lower(), str(m).lower())
        ]
        if len(candidates) != 1:
            found = ", ".join(str(m) for m in candidates) or "none"
            raise CommandError(f"--model {name!r} must match exactly one charger model ({found}).")
        return candidates[0]
