"""``station sync push|status|rebaseline``: operator commands for the nightly sync (English output)."""

from __future__ import annotations

import json
import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup

from station.audit.services import Actor
from station.errors import StationError
from station.extensions import db
from station.sync import service
from station.sync.pusher import PushReport

sync_group = AppGroup("sync", help="Sync the station's change log with the city hub.")
CLI_ACTOR = Actor(id="cli", label="cli", address="cli")

#: Why a run stopped, for the operator.
ADVICE = {
    "deadline": "stopped at the deadline (SYNC_DEADLINE_HOUR) or the hub stayed unreachable; "
                "the next run continues from the last acknowledged batch",
    "refused": "the hub refused this station",
    "rejected": "the hub rejected a request this station cannot fix by retrying",
    "gap": "the hub and the station disagree on the position repeatedly",
}


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@sync_group.command("push")
@click.option("--minutes", type=float, default=None,
              help="Stop sending after this many minutes (default: until SYNC_DEADLINE_HOUR).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def push_command(minutes: float | None, quiet: bool) -> None:
    """Send every pending change to the hub now (exit 1 unless everything was sent)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        pending = service.status(app, db.session)["pending"]
        db.session.commit()
    deadline = time.monotonic() + minutes * 60 if minutes is not None else None
    bar_cm = click.progressbar(length=max(pending, 1), label="Pushing changes", show_pos=True,
                               file=sys.stderr) if not quiet and pending else None
    sent = 0

    def progress(report: PushReport) -> None:
        nonlocal sent
        if bar_cm is not None:
            bar_cm.update(max(0, report.changes - sent))
        sent = report.changes

    try:
        if bar_cm is not None:
            with bar_cm:
                result = service.push_now(app, trigger="cli", deadline=deadline, progress=progress,
                                          actor=CLI_ACTOR)
        else:
            result = service.push_now(app, trigger="cli", deadline=deadline, progress=progress, actor=CLI_ACTOR)
    except service.SyncBusy:
        _fail("another sync run is in progress (scheduler, sync page or another command); try again later")
        return
    except StationError as error:
        _fail(f"sync is not configured: {error.message}")
        return
    report = result.report
    if result.skipped == "needs_rebaseline":
        _fail("the database was restored from a backup; an admin must re-baseline first "
              "(`station sync rebaseline --reason TEXT` once the hub operator has re-baselined this station). "
              f"Detail: {report.error}")
    click.echo(f"{report.outcome}: sent {report.changes} changes in {report.batches} batches "
               f"({report.duplicates} already held by the hub, {report.retries} retries); acknowledged up to "
               f"seq {report.acked_seq}; {report.pending} pending; {len(report.set_aside)} set aside")
    if not report.ok:
        hint = ADVICE.get(report.outcome, "the push did not complete")
        code = f" [{report.error_code}]" if report.error_code else ""
        _fail(f"push {report.outcome}: {hint}{code}. Hub said: {report.error or '-'}")


@sync_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_command(as_json: bool) -> None:
    """Show the sync state: acknowledged seq, pending, set aside, last run, next run."""
    info = service.status(current_app, db.session)
    db.session.commit()
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
        return
    width = max(len(k) for k in info)
    for key, value in info.items():
        click.echo(f"{key.ljust(width)}  {'' if value is None else value}")
    if info["needs_rebaseline"]:
        click.echo("\nWARNING: the database was restored from a backup; run `station sync rebaseline`.", err=True)


@sync_group.command("rebaseline")
@click.option("--reason", required=True, help="Why (kept in the audit trail).")
@click.option("--to-seq", type=int, default=None,
              help="Re-send every change after this seq (default: the hub's position if it has re-baselined "
                   "this station, else the station's own acknowledged seq).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def rebaseline_command(reason: str, to_seq: int | None, yes: bool) -> None:
    """Accept this (restored) database and restart sending from a point (audited)."""
    if not yes:
        click.confirm("Re-baseline the sync cursor? Every change after the point will be sent again", abort=True)
    try:
        result = service.rebaseline(current_app, db.session, reason=reason, actor=CLI_ACTOR, to_seq=to_seq)
        db.session.commit()
    except StationError as error:
        db.session.rollback()
        _fail(error.message)
        return
    click.echo(f"Re-baselined: acknowledged seq {result.from_seq} -> {result.to_seq} (point from {result.source}); "
               f"db identity {result.db_identity}. Run `station sync push` to send the rest.")


commands = [sync_group]
