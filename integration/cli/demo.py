"""``escalade demo``: seed the demo workspace and replay its sample tickets."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from integration.cli.common import runtime_of

if TYPE_CHECKING:
    pass

__all__ = ["demo"]


@click.command()
@click.option("--reset", is_flag=True, help="Remove the demo workspace first.")
def demo(reset: bool) -> None:
    """Seed the sandbox workspace and replay the sample tickets through the real pipeline."""
    from integration.demo.decided import decide_history
    from integration.demo.seed import seed_demo

    runtime = runtime_of(click.get_current_context())
    # One summary line is what a new user needs; each sample's decision is on the start page.
    # Loggers that set their own level (the app's) ignore the root's, so this silences every
    # record below a warning for the seeding, unless debugging was asked for.
    quiet = logging.getLogger().getEffectiveLevel() > logging.DEBUG
    if quiet:
        logging.disable(logging.INFO)
    try:
        report = seed_demo(runtime, reset=reset, corrections=True)
        decided = decide_history(runtime)
    finally:
        if quiet:
            logging.disable(logging.NOTSET)
    if report["reseeded_after"] is not None:
        click.echo(f"demo workspace: seeded {_age(report['reseeded_after'])} ago, so its SLA "
                   "clocks had run out; seeded it afresh with today's dates (settings kept)")
    click.echo(
        f"demo workspace: {report['tickets']} tickets sent, {report['accepted']} new, "
        f"{report['decided']} decided, {report['delivered']} write-backs delivered; "
        f"{report['documents']} help-centre articles and macros to answer from; "
        f"{report['history']} past tickets stored for the audit, {decided} of them decided "
        "for the dashboard"
    )


def _age(age: timedelta) -> str:
    """``age`` as a person says it: "5 hours", "3 days"."""
    hours = int(age.total_seconds() // 3600)
    if hours < 48:
        return f"{hours} hour{'s' * (hours != 1)}"
    return f"{hours // 24} days"
