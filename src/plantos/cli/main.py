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
    schedule,
    serve,
    signin,
)
from plantos.cli.deadletter import app as deadletter_app

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

if __name__ == "__main__":
    app()
