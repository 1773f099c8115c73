"""Reproducible synthetic plants and order books, for benchmarks and property tests.

A seed gives the same problem every time: orders of one to ``max_ops`` operations,
each eligible on one to three assets (alternatives run a little slower), setup
families with a changeover matrix, a shift pattern closing every asset for part of
each day, and due dates spread so that some orders are tight.
"""

from __future__ import annotations

import random

from plantos.mom.scheduling.problem import AssetOption, Changeover, Job, Operation, Problem

DAY_S = 86_400


def synthetic_problem(
    *,
    orders: int,
    assets: int,
    seed: int,
    now_s: int = 1_767_225_600,
    max_ops: int = 4,
    families: int = 3,
    night_off: bool = True,
) -> Problem:
    """A problem with ``orders`` open orders over ``assets`` assets."""
    rng = random.Random(seed)
    names = tuple(f"plant-a/line-{i // 5}/cell-{i % 5}" for i in range(assets))
    jobs = []
    for n in range(orders):
        order_id = f"PO-{n:04d}"
        family = f"P{rng.randrange(families)}" if families else None
        ops = []
        for index in range(rng.randint(1, max_ops)):
            chosen = rng.sample(names, k=min(len(names), rng.randint(1, 3)))
            run_s = rng.randint(10, 120) * 60
            setup_s = rng.choice((0, 300, 600, 900))
            options = tuple(
                AssetOption(asset, setup_s, run_s + k * rng.randint(0, 20) * 60)
                for k, asset in enumerate(chosen)
            )
            ops.append(Operation(order_id, index, options, family))
        release = now_s + rng.randint(0, 8) * 3600
        due = release + rng.randint(4, 48) * 3600
        jobs.append(Job(order_id, tuple(ops), release, due, weight=rng.choice((1, 1, 2, 5))))
    changeovers = tuple(
        Changeover(asset, f"P{a}", f"P{b}", 1800 if a != b else 0)
        for asset in names[::2]
        for a in range(families)
        for b in range(families)
    )
    closed = (
        {
            asset: tuple(
                (now_s + d * DAY_S + 22 * 3600, now_s + d * DAY_S + 30 * 3600) for d in range(14)
            )
            for asset in names
        }
        if night_off
        else {}
    )
    return Problem(
        now_s=now_s, jobs=tuple(jobs), assets=names, unavailable=closed, changeovers=changeovers
    )
