"""Run the reference hub: ``python -m hub --port 8800 --db hub.sqlite --station ID:KEY``."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta

import waitress

from hub.app import Faults, HubStore, SqliteNonceStore, create_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse command-line options."""
    p = argparse.ArgumentParser(prog="python -m hub", description="Reference sync hub (waitress).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8800, help="0 picks a free port (printed on start)")
    p.add_argument("--db", default="hub.sqlite")
    p.add_argument("--station", action="append", default=[], metavar="ID:KEY",
                   help="register or update a station secret (repeatable)")
    p.add_argument("--window", type=float, default=300.0, help="allowed clock skew in seconds")
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--admin-token", default=os.environ.get("HUB_ADMIN_TOKEN"),
                   help="bearer token for POST /stations/<id>/rebaseline (default $HUB_ADMIN_TOKEN)")
    p.add_argument("--durable-nonces", action="store_true", help="keep nonces in the database")
    p.add_argument("--enable-test-hooks", action="store_true", help="expose POST /_test/faults (tests only)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Register stations, then serve until interrupted."""
    args = parse_args(argv)
    store = HubStore(args.db)
    for item in args.station:
        station_id, sep, key = item.partition(":")
        if not sep or not key:
            sys.exit(f"--station cần dạng ID:KEY, nhận được {item!r}")
        store.register_station(station_id, key)
    app = create_app(store, window=timedelta(seconds=args.window), admin_token=args.admin_token,
                     faults=Faults(), enable_test_hooks=args.enable_test_hooks,
                     nonces=SqliteNonceStore(args.db) if args.durable_nonces else None)
    server = waitress.create_server(app, host=args.host, port=args.port, threads=args.threads)
    port = getattr(server, "effective_port", args.port)
    print(f"hub listening on http://{args.host}:{port}", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
