"""The serving process: one owner for the scheduler and the printer ports.

``station serve`` runs the WSGI server and, in the same process, every
background service registered here (the print spooler, the nightly sync
scheduler). A lock file in the instance folder guarantees that exactly one
process on the machine owns them.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import IO

from flask import Flask



class AlreadyRunning(RuntimeError):
    """Another process already owns the station's scheduler and printer ports."""


class PortInUse(RuntimeError):
    """The TCP port to serve on is taken."""


def acquire_owner_lock(instance_path: str) -> IO[str]:
    """Take the station's owner lock or raise AlreadyRunning; keep the file open while serving."""
    Path(instance_path).mkdir(parents=True, exist_ok=True)
    handle = open(Path(instance_path) / "serve.lock", "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise AlreadyRunning(f"another `station serve` (pid {holder}) already owns the scheduler and "
                             "printer ports of this station") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def check_port(host: str, port: int) -> None:
    """Raise PortInUse when *host*:*port* cannot be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise PortInUse(f"cannot listen on {host}:{port}: {error.strerror}; "
                            "stop the other program or set STATION_BIND_PORT") from None


def start_background(app: Flask) -> list[Callable[[], None]]:
    """Start every area's background service (``station.<area>.background.start(app) -> stop``)."""
    from station import area_modules

    return [module.start(app) for module in area_modules("background")]
