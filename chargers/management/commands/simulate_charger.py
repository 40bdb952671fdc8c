"""Play a scripted OCPP 1.6-J charge point against the portal (or any central system).

    python manage.py simulate_charger ws://127.0.0.1:8000/ocpp/DEMO1 --password KEY \
        --scenario plugin-first --log-frames

    python manage.py simulate_charger wss://portal.lab/ocpp/DEMO1 --password KEY \
        --ca-file lab-ca.pem --connect-to 192.0.2.10:443

The command only turns arguments into a ChargerConfig; the charger itself
(chargers/simulator) needs no Django and is what the end-to-end tests drive.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from chargers.simulator import (
    MISBEHAVIOURS,
    SCENARIOS,
    ChargerConfig,
    SimulatedCharger,
    SimulatorError,
)
from chargers.simulator.bench import BenchServer
from chargers.simulator.scenarios import describe


class Command(BaseCommand):
    help = (
        "Connect a simulated OCPP 1.6-J charge point to URL (ws://HOST/ocpp/<chargePointId>) "
        "and play a scenario. Scenarios: "
        + " | ".join(f"{name}: {describe(name)}" for name in SCENARIOS)
        + ". Misbehaviours: "
        + " | ".join(f"{name}: {text}" for name, text in MISBEHAVIOURS.items())
        + "."
    )
    # The charger needs neither the database nor the project's checks.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url", help="the charger endpoint, ws://HOST/ocpp/<chargePointId>")
        auth = parser.add_mutually_exclusive_group()
        auth.add_argument("--password", help="AuthorizationKey for HTTP Basic auth")
        auth.add_argument(
            "--no-auth", action="store_true", help="send no Authorization header at all"
        )
        parser.add_argument("--scenario", default="boot", choices=list(SCENARIOS))
        parser.add_argument("--connectors", type=int, default=1)
        parser.add_argument("--vendor", default="SimuCharge")
        parser.add_argument("--model", default="SIM-22")
        parser.add_argument("--serial", default="SIM-0001")
        parser.add_argument("--firmware", default="1.0.0")
        parser.add_argument("--iccid", default=None)
        parser.add_argument("--id-tag", default="04A2B3C4D5E6F7", help="the driver's card")
        parser.add_argument(
            "--unknown-id-tag",
            default="DEADBEEF000000",
            help="the card the unauthorized scenario presents",
        )
        parser.add_argument(
            "--misbehave",
            action="extend",
            nargs="+",
            default=[],
            choices=list(MISBEHAVIOURS),
            metavar="NAME",
            help="deviations to commit (repeatable): " + ", ".join(MISBEHAVIOURS),
        )
        parser.add_argument(
            "--duration",
            type=float,
            default=None,
            help="seconds to stay connected (boot/idle: forever without; sessions: afterwards)",
        )
        parser.add_argument(
            "--meter-interval", type=int, default=60, help="MeterValueSampleInterval (s)"
        )
        parser.add_argument(
            "--connection-timeout", type=int, default=60, help="ConnectionTimeOut (s)"
        )
        parser.add_argument(
            "--session-seconds", type=float, default=180, help="how long a session charges"
        )
        parser.add_argument(
            "--time-scale",
            type=float,
            default=1.0,
            help="real seconds per charger second (0.1 plays everything ten times faster)",
        )
        parser.add_argument(
            "--fixed-cable", action="store_true", help="UnlockConnector answers NotSupported"
        )
        parser.add_argument(
            "--ca-file",
            default=None,
            help="wss:// only: PEM file of the CA that signed the portal's certificate",
        )
        parser.add_argument(
            "--client-cert",
            default=None,
            metavar="PEM",
            help="security profile 3: PEM file with the charger's certificate and its key",
        )
        parser.add_argument(
            "--cpo-name", default="", help="the CpoName (O) of the CSRs SignCertificate sends"
        )
        parser.add_argument(
            "--connect-to",
            default=None,
            metavar="HOST:PORT",
            help="open the connection to this address instead of the URL's host "
            "(the URL's host stays the TLS name and the Host header)",
        )
        parser.add_argument(
            "--log-frames", action="store_true", help="print every OCPP frame sent and received"
        )
        parser.add_argument(
            "--bench-port",
            type=int,
            default=None,
            help="serve the test bench hook (docs/bench-hook.md) on 127.0.0.1:PORT, so that "
            "unattended runs plug in, present cards and power-cycle (0: any free port)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["password"] is None and not options["no_auth"]:
            raise CommandError("give --password KEY (the AuthorizationKey), or --no-auth")
        client_certificate = None
        if options["client_cert"]:
            try:
                client_certificate = Path(options["client_cert"]).read_text()
            except OSError as error:
                raise CommandError(f"cannot read --client-cert: {error}") from None
        try:
            config = ChargerConfig.for_url(
                options["url"],
                password=options["password"],
                connectors=options["connectors"],
                vendor=options["vendor"],
                model=options["model"],
                serial=options["serial"],
                firmware=options["firmware"],
                iccid=options["iccid"],
                id_tag=options["id_tag"],
                unknown_id_tag=options["unknown_id_tag"],
                meter_sample_interval=options["meter_interval"],
                connection_timeout=options["connection_timeout"],
                misbehaviours=frozenset(options["misbehave"]),
                time_scale=options["time_scale"],
                duration=options["duration"],
                session_seconds=options["session_seconds"],
                fixed_cable=options["fixed_cable"],
                on_frame=self._print_frame if options["log_frames"] else None,
                ca_file=options["ca_file"],
                connect_to=options["connect_to"],
                client_certificate=client_certificate,
                cpo_name=options["cpo_name"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        # The library logs every frame and a traceback for each CALLERROR it sends; the
        # frames are what --log-frames is for.
        logging.getLogger("ocpp").setLevel(logging.CRITICAL)
        charger = SimulatedCharger(config)
        self.stdout.write(
            f"{config.charge_point_id}: scenario {options['scenario']} against {config.url}"
        )
        try:
            asyncio.run(self._run(charger, options["scenario"], options["bench_port"]))
        except SimulatorError as error:
            raise CommandError(str(error)) from None
        except KeyboardInterrupt:
            self.stdout.write("interrupted")
            return
        self.stdout.write(
            f"{config.charge_point_id}: done; {charger.boot_count} boot(s), "
            f"{len(charger.frames)} frames"
        )

    async def _run(self, charger: SimulatedCharger, scenario: str, bench_port: int | None) -> None:
        if bench_port is None:
            await charger.run(scenario)
            return
        bench = BenchServer(charger, asyncio.get_running_loop(), port=bench_port).start()
        self.stdout.write(f"test bench hook at {bench.url}")
        try:
            await charger.run(scenario)
        finally:
            await asyncio.to_thread(bench.close)

    def _print_frame(self, direction: str, frame: str) -> None:
        arrow = "->" if direction == "send" else "<-"
        stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        self.stdout.write(f"{stamp} {arrow} {frame}")
