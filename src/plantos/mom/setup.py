"""Opening the operations layer for a plant: database, migrations, master data, counters
and the planner, as the composition root needs them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import sqlalchemy as sa

from plantos.analytics.oee.config import OeeSpec
from plantos.core.clock import Clock
from plantos.core.errors import PlantOSError
from plantos.model.plant import Plant
from plantos.mom.config import mom_config
from plantos.mom.counters import CounterReader
from plantos.mom.handlers import CountingPolicy
from plantos.mom.masterdata import load_master_data
from plantos.mom.planner import Planner
from plantos.mom.planning import installed_scheduler
from plantos.mom.runtime import Emit, MomRuntime
from plantos.mom.service import MomService
from plantos.mom.store import open_engine, resolve_url, upgrade


def open_service(
    plant: Plant, *, data_dir: Path, clock: Clock, database: str | None = None
) -> MomService:
    """The operations service of ``plant``, its database upgraded to the newest schema and
    seeded with the master data file when it has none yet."""
    config = mom_config(plant)
    engine = open_engine(resolve_url(database or config.database, data_dir=data_dir))
    try:
        upgrade(engine)
    except sa.exc.OperationalError as exc:
        where = engine.url.render_as_string(hide_password=True)
        engine.dispose()
        raise PlantOSError(f"cannot open the operations database {where}: {exc.orig}") from None
    master = (
        load_master_data(config.master_data, assets=plant.assets) if config.master_data else None
    )
    policy = CountingPolicy(config.counting, dict(master.counting) if master else {})
    service = MomService(engine, clock=clock, assets=plant.assets, policy=policy)
    if master is not None:
        service.seed_master_data(master)
    return service


def open_mom(
    plant: Plant,
    *,
    data_dir: Path,
    clock: Clock,
    tag_ids: Mapping[str, int],
    oee: OeeSpec,
    emit: Emit,
    time_limit_s: float = 30.0,
) -> MomRuntime:
    """Everything the platform runs for operations; planning only when the scheduler is
    installed. The planner's search is bounded by work (repeatable); ``time_limit_s`` is
    only its safety limit, generous so that a busy server still gets the same plan."""
    service = open_service(plant, data_dir=data_dir, clock=clock)
    reader = CounterReader(plant, oee, tag_ids, assets=plant.assets)
    scheduler = installed_scheduler()
    planner = (
        Planner(
            service,
            plant,
            scheduler,
            frozen_horizon_ns=mom_config(plant).frozen_horizon_ns,
            time_limit_s=time_limit_s,
        )
        if scheduler is not None
        else None
    )
    return MomRuntime(service, reader, planner, emit=emit)
