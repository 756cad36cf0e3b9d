"""Operators' commands for consent and webhooks: expire-invitations, deliver-webhooks, consent."""
from __future__ import annotations

import logging
import signal
import threading

import click

from api import cli
from matcher.service import consent, group_consent
from matcher.service.access import command_line_caller
from matcher.service.delivery import DeliveryWorker
from matcher.states import Consent, Programme


@click.command("expire-invitations")
def expire_invitations() -> None:
    """Expire pair and group invitations nobody answered in time, freeing their places (safe to run from cron
    at any interval)."""
    db = cli.database()
    actor = command_line_caller().actor
    with db.session() as session:
        pairs = consent.expire_due(session, actor=actor)
        session.commit()
        groups = group_consent.expire_due(session, actor=actor)
        session.commit()
    click.echo(f"Expired {len(pairs) + len(groups)} invitations ({len(pairs)} to pairs, {len(groups)} to groups).")


@click.command("deliver-webhooks")
@click.option("--once", is_flag=True, help="Send what is due now, then exit (for cron); default: run until stopped.")
def deliver_webhooks(once: bool) -> None:
    """Send queued webhook deliveries, signed, with retries (PEERMATCH_WEBHOOK_* variables tune them)."""
    logging.basicConfig(format="%(asctime)s [%(levelname)s] %(name)s: %(message)s")
    logging.getLogger("matcher.service.delivery").setLevel(logging.INFO)
    worker = DeliveryWorker(cli.database())
    if once:
        click.echo(f"Tried {worker.run_once()} deliveries.")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    click.echo("Delivering webhooks; stop with SIGTERM or Ctrl-C.")
    worker.run(stop)


@click.command("consent")
@click.option("--programme", type=click.Choice([p.value for p in Programme]), default=Programme.PAIRS.value,
              show_default=True, help="pairs, or groups: what new group programmes start with.")
@click.option("--mode", type=click.Choice([c.value for c in Consent]), default=None,
              help="coordinator: approval activates a pair; mutual: both members must accept.")
@click.option("--invitation-days", type=click.IntRange(1, consent.MAX_INVITATION_DAYS), default=None,
              help="Days members have to answer an invitation.")
def consent_setting(programme: str, mode: str | None, invitation_days: int | None) -> None:
    """Show, or change, how pairs (or new group programmes) ask for consent."""
    db = cli.database()
    with db.session() as session:
        if mode is not None or invitation_days is not None:
            consent.configure(session, command_line_caller().actor, Consent(mode) if mode else None, invitation_days,
                              programme)
        row = consent.settings(session, programme)
        session.commit()
        click.echo(f"{programme}: consent = {row.consent}, invitation_days = {row.invitation_days}")


COMMANDS = (expire_invitations, deliver_webhooks, consent_setting)
