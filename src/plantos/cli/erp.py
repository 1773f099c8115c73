"""``plantos erp``: the ERP connectors' delivery state, their dead letters, and replay,
read straight from the operations database (the server need not run); and
``import-products``, the ERP's products (B2MML or CSV) into the master data.

``status`` exits 1 while a connector holds dead letters, so a monitoring script can
call it; ``replay`` sends a connector's dead letters again once their cause is fixed
(the running dispatcher picks them up on its next round).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import typer

from plantos.cli.common import out, reported_errors
from plantos.core.clock import WallClock
from plantos.core.errors import PlantOSError

if TYPE_CHECKING:
    from plantos.integration.erp.outbox.store import DeliveryStore

app = typer.Typer(
    help="The ERP connectors: delivery state, dead letters, replay; product import.",
    no_args_is_help=True,
)
T = TypeVar("T")

CONFIG = typer.Option(..., "--config", "-c", help="The plantos.yaml (erp.yaml stands beside it)")
DATA_DIR = typer.Option(Path("data"), help="Where the SQLite database lives")
DATABASE = typer.Option(None, help="Override mom.database of the plant file")


@contextmanager
def _store(
    config: Path, data_dir: Path, database: str | None
) -> Iterator[tuple[DeliveryStore, list[str]]]:
    from plantos.integration.erp.outbox.config import erp_file, load_connector_specs
    from plantos.integration.erp.outbox.store import DeliveryStore
    from plantos.model import load_plant
    from plantos.mom.config import mom_config
    from plantos.mom.store import open_engine, resolve_url

    url = resolve_url(database or mom_config(load_plant(config)).database, data_dir=data_dir)
    path = erp_file(config)
    configured = [spec.name for spec, _ in load_connector_specs(path)] if path.exists() else []
    engine = open_engine(url)
    try:
        yield DeliveryStore(engine, clock=WallClock()), configured
    finally:
        engine.dispose()


def _read(call: Callable[[], T]) -> T:
    import sqlalchemy as sa

    try:
        return call()
    except sa.exc.DBAPIError as exc:
        raise PlantOSError(
            f"cannot read the ERP delivery state ({exc.orig}); run plantos db upgrade first?"
        ) from None


@app.command("status")
def status_command(
    config: Path = CONFIG, data_dir: Path = DATA_DIR, database: str | None = DATABASE,
    as_json: bool = typer.Option(False, "--json", help="One JSON document"),
) -> None:  # fmt: skip
    """Each connector: pending, delivered, dead, lag, last delivery, last error."""
    with reported_errors(), _store(config, data_dir, database) as (store, configured):
        rows = _read(lambda: [store.status(n) for n in store.connectors(configured)])
    if as_json:
        out.print_json(json.dumps({"connectors": rows}))
    for row in [] if as_json else rows:
        out.print(
            f"{row['connector']}: {row['pending']} pending, {row['delivered']} delivered, "
            f"{row['dead']} dead, lag {row['lag_s']:.1f} s, last delivery "
            f"{row['last_delivered_at'] or 'never'}"
            + (f", last error: {row['last_error']}" if row["last_error"] else ""),
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    if not rows and not as_json:
        out.print("no ERP connector configured and no delivery state", highlight=False)
    if any(row["dead"] for row in rows):
        raise typer.Exit(1)


@app.command("deadletters")
def deadletters_command(
    config: Path = CONFIG, data_dir: Path = DATA_DIR, database: str | None = DATABASE,
    connector: str | None = typer.Option(None, help="Only this connector's"),
    limit: int = typer.Option(100, min=1, max=10_000),
    as_json: bool = typer.Option(False, "--json", help="With payloads, as JSON"),
) -> None:  # fmt: skip
    """The messages a receiver refused, oldest first, with the reason."""
    with reported_errors(), _store(config, data_dir, database) as (store, _):
        letters = _read(lambda: store.dead_letters(connector, limit=limit))
    if as_json:
        out.print_json(json.dumps({"dead_letters": [x.to_dict() for x in letters]}))
        return
    for x in letters:
        out.print(
            f"{x.key} {x.connector} {x.kind} order {x.ordering_key} "
            f"after {x.attempts} attempt(s): {x.error}",
            highlight=False, soft_wrap=True,
        )  # fmt: skip
    out.print(f"{len(letters)} dead letter(s)", highlight=False)


@app.command("replay")
def replay_command(
    connector: str = typer.Argument(..., help="The connector whose dead letters go again"),
    config: Path = CONFIG, data_dir: Path = DATA_DIR, database: str | None = DATABASE,
    ids: list[str] = typer.Option([], "--id", help="Only these messages (repeatable)"),
) -> None:  # fmt: skip
    """Send dead letters again after their cause is fixed (all of the connector's, or --id)."""
    with reported_errors(), _store(config, data_dir, database) as (store, configured):
        keys = [_uuid(i) for i in ids] or None
        known = _read(lambda: store.connectors(configured))
        if connector not in known:
            raise PlantOSError(f"no ERP connector named {connector!r}; known: {known}")
        count = _read(lambda: store.replay(connector, keys=keys))
    out.print(f"{count} dead letter(s) of {connector} go again", highlight=False)


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise PlantOSError(f"--id must be a message id (a UUID), got {text!r}") from None


@app.command("import-products")
def import_products_command(
    file: Path = typer.Argument(
        ..., help="A B2MML V0600 ProductDefinition (.xml) or a CSV (.csv) with columns "
        "product_id, name, routing[, counting]"
    ),
    config: Path = CONFIG, data_dir: Path = DATA_DIR,
    schemas: Path | None = typer.Option(
        None, help="MESA's B2MML XSD folder (with v0600/): the document must validate too"
    ),
) -> None:  # fmt: skip
    """Take the ERP's products into the master data, all or none (checked as the API checks
    a product: its routing must be known)."""
    from plantos.integration.erp.b2mml.product_decode import decode_products
    from plantos.integration.erp.csv_products import parse_product_csv
    from plantos.integration.erp.products_import import import_products, outcome_counts
    from plantos.model import load_plant
    from plantos.mom.setup import open_service

    with reported_errors():
        suffix = file.suffix.lower()
        if suffix not in (".xml", ".csv"):
            raise PlantOSError(f"{file}: name a .xml (B2MML) or .csv file, not {suffix!r}")
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise PlantOSError(f"cannot read {file}: {exc}") from None
        data_dir.mkdir(parents=True, exist_ok=True)
        mom = open_service(load_plant(config), data_dir=data_dir, clock=WallClock())
        _, routings = mom.master()
        products = (
            decode_products(data, schema_dir=schemas, routings=set(routings))
            if suffix == ".xml"
            else parse_product_csv(data, routings=set(routings))
        )
        outcomes = import_products(mom, products)
    summary = ", ".join(f"{n} {o}" for o, n in outcome_counts(outcomes).items())
    out.print(f"{len(outcomes)} product(s) from {file}: {summary}", highlight=False, soft_wrap=True)
