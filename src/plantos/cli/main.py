"""Entry point of the ``plantos`` command: one sub-command per module."""

from __future__ import annotations

import typer

from plantos.cli import (
    analytics,
    browse,
    check,
    db,
    demo,
    edge,
    orders,
    query,
    report,
    schedule,
    serve,
    signin,
)
from plantos.cli.audit import app as audit_app
from plantos.cli.deadletter import app as deadletter_app
from plantos.cli.entry import app as entry_app
from plantos.cli.erp import app as erp_app
from plantos.cli.lots import app as lots_app
from plantos.cli.maintenance import app as maintenance_app
from plantos.cli.pki import app as pki_app
from plantos.cli.quality import app as quality_app
from plantos.cli.token import app as token_app
from plantos.cli.user import app as user_app
from plantos.cli.write import write as write_command

app = typer.Typer(
    name="plantos",
    help="PlantOS: the shared data layer between the plant floor and the business.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: wraps at any width, never cuts a default short
)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("check")(check.check)
app.command("query")(query.query)
app.command("signin-link")(signin.signin_link)
app.command("browse")(browse.browse)
app.command("edge")(edge.edge)
app.add_typer(analytics.app, name="analytics")
app.add_typer(deadletter_app, name="deadletter")
app.add_typer(schedule.app, name="schedule")
app.add_typer(db.app, name="db")
app.add_typer(orders.app, name="orders")
app.add_typer(report.app, name="report")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(pki_app, name="pki")
app.add_typer(maintenance_app, name="maintenance")
app.add_typer(erp_app, name="erp")
app.add_typer(entry_app, name="entry")
app.add_typer(quality_app, name="quality")
app.add_typer(lots_app, name="lots")
app.command("write")(write_command)

if __name__ == "__main__":
    app()
