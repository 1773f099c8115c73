"""``plantos analytics``: the streaming judgements run offline, one command each: ``detect``
over a CSV file, ``oee`` and ``spc`` over historian ranges."""

import typer

from plantos.cli.analytics import detect, oee, spc

app = typer.Typer(
    help="Analytics over files: the same code the live platform runs on the stream.",
    no_args_is_help=True,
)
app.command("detect")(detect.detect)
app.command("oee")(oee.oee)
app.command("spc")(spc.spc)
