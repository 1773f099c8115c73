"""Entry point of the ``plantos`` command: one sub-command per module."""

from __future__ import annotations

import typer

from plantos.cli import (
    analytics,
    audit,
    browse,
    check,
    demo,
    edge,
    query,
    serve,
    signin,
    token,
    user,
)

app = typer.Typer(
    name="plantos",
    help="PlantOS: the shared data layer between the plant floor and the business.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("check")(check.check)
app.command("query")(query.query)
app.command("signin-link")(signin.signin_link)
app.command("browse")(browse.browse)
app.command("edge")(edge.edge)
app.add_typer(analytics.app, name="analytics")
app.add_typer(user.app, name="user")
app.add_typer(token.app, name="token")
app.add_typer(audit.app, name="audit")

if __name__ == "__main__":
    app()
