"""The service user and its directories of docs/deploy.md, set up for a test by the guide's
own ``sh`` blocks: taken from the guide as printed, run with its absolute paths moved under
a directory of the test (``/var/lib/ocpp-portal`` becomes ``<root>/var/lib/ocpp-portal``),
which is the one thing changed. Only as root: a test that is not root runs the portal as
itself, which is already unprivileged.

The guide's interpreter is Debian's ``python3``, which every user can run; the test's is
the suite's virtual environment, whose interpreter may live where the service user cannot
enter (``/root/.pyenv``). Then an interpreter the service user can run is made of the same
Python (its standard library copied once into ``/var/tmp``, a virtual environment of it
that reads the suite's installed packages): the packages ``pip install -e .`` would have
installed, at the suite's versions."""

from __future__ import annotations

import fcntl
import os
import pwd
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.live import ROOT

GUIDE = ROOT / "docs" / "deploy.md"
USER = "ocpp-portal"
# The guide's absolute paths a test moves under its own directory.
GUIDE_PATHS = (
    "/var/lib/ocpp-portal",
    "/etc/ocpp-portal",
    "/var/backups/ocpp-portal",
    "/srv/backup",
)


def guide_block(first_line: str) -> str:
    """The ``sh`` block of docs/deploy.md whose first line is ``first_line``, as printed."""
    blocks = re.findall(r"^```sh\n(.*?)^```$", GUIDE.read_text(), re.DOTALL | re.MULTILINE)
    found = [block for block in blocks if block.splitlines()[0] == first_line]
    assert len(found) == 1, f"docs/deploy.md has {len(found)} sh blocks starting {first_line!r}"
    return str(found[0])


def block_lines(block: str, *, leaving_out: tuple[str, ...] = ()) -> list[str]:
    """The commands of a block (backslash continuations joined; comments and blank lines
    dropped), without those that start with one of ``leaving_out`` (each must be there)."""
    joined = block.replace("\\\n", " ")
    commands = [
        line.strip() for line in joined.splitlines() if line.strip() and not line.startswith("#")
    ]
    for start in leaving_out:
        assert any(c.startswith(start) for c in commands), f"no {start!r} in {block!r}"
    return [c for c in commands if not c.startswith(leaving_out)]


@dataclass
class ServiceHost:
    """The guide's host, as far as a test can have it: ``root`` stands for ``/``."""

    root: Path
    python: str  # an interpreter the service user can run, with the portal's packages
    python_env: dict[str, str]  # what that interpreter needs in its environment

    @property
    def var_dir(self) -> Path:
        return self.root / "var/lib/ocpp-portal"

    @property
    def env_file(self) -> Path:
        return self.root / "etc/ocpp-portal/env"

    def moved(self, text: str) -> str:
        """The guide's text with its absolute paths under ``root``."""
        for path in GUIDE_PATHS:
            text = re.sub(rf"(?<![\w/]){re.escape(path)}", str(self.root) + path, text)
        return text

    def sh(self, commands: list[str], env: dict[str, str] | None = None) -> str:
        """Run the guide's commands as root, in one ``sh -e`` as an operator's shell."""
        # The user is the host's, not the test's: its home stays the guide's.
        moved = [c if c.startswith("adduser ") else self.moved(c) for c in commands]
        script = "set -e\n" + "\n".join(moved) + "\n"
        done = subprocess.run(
            ["sh", "-c", script],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def write_env(self, values: dict[str, str]) -> None:
        """Fill in the env file the guide created (root:ocpp-portal, 0640)."""
        text = "".join(f"{k}={v}\n" for k, v in values.items())
        assert not re.search(r"[\s'\"$`\\]", "".join(values.values())), "needs no quoting"
        with self.env_file.open("w") as file:  # keeps the file's owner and mode
            file.write(text)

    def unit_process(self) -> dict[str, object]:
        """``subprocess.Popen`` arguments for a process as the systemd units start one:
        ``User=ocpp-portal`` (its group, no other), systemd's default ``UMask=0022``."""
        return {"user": USER, "group": USER, "extra_groups": [], "umask": 0o022}

    def unit_env(self) -> dict[str, str]:
        """The environment of a unit: ``EnvironmentFile=`` plus what systemd sets."""
        values = dict(
            line.split("=", 1) for line in self.env_file.read_text().splitlines() if "=" in line
        )
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.var_dir),  # the user's home is VAR_DIR (adduser --home)
            "USER": USER,
            "LANG": "C.UTF-8",
            **self.python_env,
            **values,
        }

    def owner(self, path: Path) -> str:
        return pwd.getpwuid(path.stat().st_uid).pw_name


def service_python(user: str) -> tuple[str, dict[str, str]]:
    """An interpreter ``user`` can run, with the packages of the suite's environment, and
    the environment it needs."""
    probe = [sys.executable, "-c", "import django"]
    if subprocess.run(["runuser", "-u", user, "--", *probe], capture_output=True).returncode == 0:
        return sys.executable, {}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    home = Path("/var/tmp") / f"ocpp-portal-test-python-{sys.version.split()[0]}"
    libraries = {"LD_LIBRARY_PATH": str(home / "python/lib")}
    with open(f"{home}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one session makes it; the others wait and use it
        if not (home / "done").exists():
            shutil.rmtree(home, ignore_errors=True)  # one that stopped halfway
            base = Path(sys.base_prefix)
            (home / "python/lib").mkdir(parents=True)
            shutil.copytree(base / "bin", home / "python/bin", symlinks=True)
            for library in (base / "lib").glob("libpython*"):
                shutil.copy2(library, home / "python/lib", follow_symlinks=False)
            shutil.copytree(
                base / "lib" / version,
                home / "python/lib" / version,
                symlinks=True,
                ignore=lambda _, names: [n for n in names if n in {"test", "site-packages"}],
            )
            (home / "python/lib" / version / "site-packages").mkdir()
            subprocess.run(
                [home / "python/bin" / version, "-m", "venv", "--without-pip", home / "venv"],
                env={**os.environ, **libraries},
                check=True,
            )
            packages = sysconfig.get_paths()["purelib"]
            (home / "venv/lib" / version / "site-packages/ocpp-portal-test.pth").write_text(
                f"import site; site.addsitedir({packages!r})\n"
            )
            (home / "done").write_text("")
    return str(home / "venv/bin/python"), libraries


@contextmanager
def service_host() -> Iterator[ServiceHost | None]:
    """The guide's service user and directories ("As root, once."), or None when the test
    is not root. Creating the user is as the guide says, and harmless when it exists."""
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        yield None
        return
    # Not pytest's tmp_path: its parents are private to root, and the user must enter.
    root = Path(tempfile.mkdtemp(prefix="ocpp-portal-host-"))
    os.chmod(root, 0o755)
    try:
        first = guide_block("# As root, once.")
        host = ServiceHost(root, "", {})
        host.sh(
            block_lines(
                first,
                leaving_out=(
                    "install -d -o root -g root -m 0755 /opt/ocpp-portal",  # the code: ROOT
                    "git clone",
                    "runuser -u postgres -- createuser",  # the suite's database exists
                    "runuser -u postgres -- createdb",
                ),
            )
        )
        host.python, host.python_env = service_python(USER)
        yield host
    finally:
        shutil.rmtree(root, ignore_errors=True)
