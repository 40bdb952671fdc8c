"""What a simulated charger is: identity, hardware, behaviour and the speed of its clock."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chargers.simulator.misbehaviours import check_misbehaviours
from chargers.simulator.security import tls_context

# Called with ("send" | "recv", raw frame) for every OCPP frame on the wire.
FrameObserver = Callable[[str, str], None]


@dataclass
class ChargerConfig:
    """Everything a run needs. Durations are in the charger's own seconds; ``time_scale``
    converts them to real ones (0.01 plays a 300 s heartbeat interval every 3 s), so tests can
    play minutes-long scenarios in a fraction of a second."""

    charge_point_id: str
    url: str
    password: str | None = None  # None: no Authorization header (security profile 0)
    connectors: int = 1
    vendor: str = "SimuCharge"
    model: str = "SIM-22"
    serial: str = "SIM-0001"
    firmware: str = "1.0.0"
    iccid: str | None = None
    id_tag: str = "04A2B3C4D5E6F7"
    unknown_id_tag: str = "DEADBEEF000000"  # the card the `unauthorized` scenario presents
    heartbeat_interval: int = 300  # until the BootNotification answer says otherwise
    meter_sample_interval: int = 60
    connection_timeout: int = 60
    misbehaviours: frozenset[str] = frozenset()
    time_scale: float = 1.0
    duration: float | None = None  # how long a scenario stays connected after its actions
    session_seconds: float = 180  # how long a scripted session charges
    reboot_seconds: float = 5  # how long the charger is offline while it reboots
    fixed_cable: bool = False  # a DC charger's cable cannot be unlocked
    reserve_connector_zero: bool = False  # ReserveConnectorZeroSupported
    power_w: float = 11_000
    response_timeout: float = 30  # real seconds to wait for the CSMS's answer
    transfer_timeout: float = 10  # real seconds for a firmware download or diagnostics upload
    on_frame: FrameObserver | None = None
    # Security profiles 2 and 3 (wss://): the root(s) the charger pins, PEM (None: the
    # system's); its client certificate and key, PEM (profile 3); the CpoName of its CSRs.
    ca_certificates: str | None = None
    client_certificate: str | None = None
    cpo_name: str = ""
    # wss:// only: a PEM file of the CA to trust (a lab's private certificate) instead of
    # the system's.
    ca_file: str | None = None
    # "host:port" to open the TCP connection to instead of the URL's host (a lab address,
    # a test's free port); the URL's host stays the TLS server name and the Host header.
    connect_to: str | None = None

    def __post_init__(self) -> None:
        self.misbehaviours = frozenset(self.misbehaviours)
        check_misbehaviours(self.misbehaviours)
        if self.connectors < 1:
            raise ValueError("a charger has at least one connector")
        if self.time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if self.connect_to is not None:
            connect_address(self.connect_to)

    def connection_options(self) -> dict[str, Any]:
        """Options for ``websockets.connect``: the TLS context and the address to dial."""
        options: dict[str, Any] = {}
        if urllib.parse.urlsplit(self.url).scheme == "wss":
            options["ssl"] = tls_context(
                self.ca_file,
                self.ca_certificates,
                self.client_certificate,
                accept_invalid="accept-invalid-server-certificate" in self.misbehaviours,
            )
        elif self.ca_file is not None:
            raise ValueError("a CA file is for wss:// URLs")
        if self.connect_to is not None:
            options["host"], options["port"] = connect_address(self.connect_to)
        return options

    @classmethod
    def for_url(cls, url: str, **options: Any) -> ChargerConfig:
        """A config whose charge point id is the URL's last path segment, as the portal
        expects (``ws://host/ocpp/<chargePointId>``)."""
        path = urllib.parse.urlsplit(url).path.rstrip("/")
        charge_point_id = urllib.parse.unquote(path.rsplit("/", 1)[-1])
        if not charge_point_id:
            raise ValueError(f"{url!r} does not end with a charge point id")
        return cls(charge_point_id, url, **options)


def connect_address(text: str) -> tuple[str, int]:
    """``"192.0.2.1:443"`` or ``"[2001:db8::1]:443"`` as (host, port); ValueError else."""
    host, _, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host, int(port)
