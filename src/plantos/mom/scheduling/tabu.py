"""Tabu search for the job shop over the N5 neighbourhood (Nowicki and Smutnicki).

A schedule is an order of operations on every machine; its makespan is the longest
path through job and machine arcs. The only swaps that can shorten that path swap
the first two or the last two operations of a block of consecutive critical
operations on one machine; each is scored in constant time from heads and tails
(Taillard's estimate) and the best one not forbidden by the tabu list is made.
It turns the dispatching rule's schedule into a much better first solution for
CP-SAT within a few seconds of pure Python. It is bounded by a number of moves, and
its only randomness is seeded, so the same call gives the same schedule however busy
the machine is.
"""

from __future__ import annotations

import itertools
import math
import operator
import random
import time
from typing import NamedTuple

from plantos.mom.scheduling.jsplib import JobShop


class _Shop:
    """Operations numbered 0..n-1 job by job, with their job neighbours."""

    def __init__(self, shop: JobShop) -> None:
        self.p: list[int] = []
        self.machine: list[int] = []
        self.jp: list[int] = []
        self.js: list[int] = []
        self.first: list[int] = []
        for job in shop.jobs:
            self.first.append(len(self.p))
            for k, (machine, duration) in enumerate(job):
                op = len(self.p)
                self.p.append(duration)
                self.machine.append(machine)
                self.jp.append(op - 1 if k else -1)
                self.js.append(op + 1 if k < len(job) - 1 else -1)
        self.n = len(self.p)
        self.machines = shop.machines


def _evaluate(
    shop: _Shop, seqs: list[list[int]]
) -> tuple[list[int], list[int], list[int], list[int], int]:
    """Heads, tails (excluding the operation), machine neighbours and the makespan."""
    n, p, jp, js = shop.n, shop.p, shop.jp, shop.js
    mp, ms = [-1] * n, [-1] * n
    for seq in seqs:
        for a, b in itertools.pairwise(seq):
            ms[a], mp[b] = b, a
    indegree = [(jp[i] >= 0) + (mp[i] >= 0) for i in range(n)]
    order = [i for i in range(n) if not indegree[i]]
    head = [0] * n
    for i in order:  # Kahn's algorithm; the list grows while it is walked
        end = head[i] + p[i]
        # the job successor, then the machine successor: written out twice, as a loop over
        # the pair costs this hottest loop of the search a measurable share of its time
        nxt = js[i]
        if nxt >= 0:
            if end > head[nxt]:
                head[nxt] = end
            indegree[nxt] -= 1
            if not indegree[nxt]:
                order.append(nxt)
        nxt = ms[i]
        if nxt >= 0:
            if end > head[nxt]:
                head[nxt] = end
            indegree[nxt] -= 1
            if not indegree[nxt]:
                order.append(nxt)
    tail = [0] * n
    for i in reversed(order):
        a, b = js[i], ms[i]
        after = tail[a] + p[a] if a >= 0 else 0
        if b >= 0 and tail[b] + p[b] > after:
            after = tail[b] + p[b]
        tail[i] = after
    makespan = max(map(operator.add, head, p), default=0)
    return head, tail, mp, ms, makespan


def _critical_blocks(
    shop: _Shop, head: list[int], tail: list[int], mp: list[int], makespan: int
) -> list[list[int]]:
    """Blocks of one critical path, from its start to its end."""
    p, jp = shop.p, shop.jp
    u = next(i for i in range(shop.n) if tail[i] == 0 and head[i] + p[i] == makespan)
    path = [u]
    while head[u] > 0:
        a = mp[u]
        u = a if a >= 0 and head[a] + p[a] == head[u] else jp[u]
        path.append(u)
    path.reverse()
    blocks: list[list[int]] = [[path[0]]]
    for a, b in itertools.pairwise(path):
        if mp[b] == a:
            blocks[-1].append(b)
        else:
            blocks.append([b])
    return blocks


def _swap_estimate(
    shop: _Shop, u: int, v: int, head: list[int], tail: list[int], mp: list[int], ms: list[int]
) -> int:
    """Makespan estimate after swapping ``u`` and the next operation on its machine ``v``."""
    p, jp, js = shop.p, shop.jp, shop.js
    a, b = mp[u], ms[v]
    rv = max(head[jp[v]] + p[jp[v]] if jp[v] >= 0 else 0, head[a] + p[a] if a >= 0 else 0)
    ru = max(head[jp[u]] + p[jp[u]] if jp[u] >= 0 else 0, rv + p[v])
    qu = max(tail[js[u]] + p[js[u]] if js[u] >= 0 else 0, tail[b] + p[b] if b >= 0 else 0)
    qv = max(tail[js[v]] + p[js[v]] if js[v] >= 0 else 0, qu + p[u])
    return max(rv + p[v] + qv, ru + p[u] + qu)


def _moves(blocks: list[list[int]]) -> list[tuple[int, int]]:
    """N5: swap the first two operations of every block but the first, and the last
    two of every block but the last."""
    moves: list[tuple[int, int]] = []
    last = len(blocks) - 1
    for i, block in enumerate(blocks):
        if len(block) < 2:
            continue
        if i > 0 or last == 0:
            moves.append((block[0], block[1]))
        if i < last or last == 0:
            moves.append((block[-2], block[-1]))
    return list(dict.fromkeys(moves))


class TabuResult(NamedTuple):
    """The best makespan, its (semi-active) starts, and the moves the search made."""

    makespan: int
    starts: tuple[tuple[int, ...], ...]
    moves: int


def tabu_search(
    shop: JobShop,
    starts: tuple[tuple[int, ...], ...],
    *,
    moves: int,
    target: int = 0,
    patience: int | None = None,
    deadline: float = math.inf,
    seed: int = 1,
) -> TabuResult:
    """Improve the schedule given by ``starts`` with at most ``moves`` swaps. It stops
    early at a makespan of ``target`` (a lower bound: nothing is shorter), after
    ``patience`` moves in a row found nothing shorter, and at ``deadline``
    (``time.perf_counter()``) whatever is left."""
    s = _Shop(shop)
    rng = random.Random(seed)
    flat = [st for row in starts for st in row]
    seqs = [
        sorted((i for i in range(s.n) if s.machine[i] == m), key=lambda i: flat[i])
        for m in range(s.machines)
    ]
    head, tail, mp, ms, makespan = _evaluate(s, seqs)
    best, best_seqs, best_head = makespan, [q[:] for q in seqs], head
    tabu: dict[tuple[int, int], int] = {}
    iteration, since_best, improved_at = 0, 0, 0
    tenure = 8 + len(shop.jobs) // 2
    patience = moves if patience is None else patience
    while (
        iteration < moves
        and best > target
        and iteration - improved_at < patience
        and time.perf_counter() < deadline
    ):
        iteration += 1
        candidates = _moves(_critical_blocks(s, head, tail, mp, makespan))
        if not candidates:
            break  # one block on one machine: the machine's load, optimal
        chosen, chosen_value = None, None
        for u, v in candidates:
            value = _swap_estimate(s, u, v, head, tail, mp, ms)
            if tabu.get((u, v), 0) > iteration and value >= best:
                continue
            if chosen_value is None or value < chosen_value:
                chosen, chosen_value = (u, v), value
        if chosen is None:
            chosen = rng.choice(candidates)
        u, v = chosen
        seq = seqs[s.machine[u]]
        i = seq.index(u)
        seq[i], seq[i + 1] = v, u
        tabu[(v, u)] = iteration + tenure + rng.randint(0, 4)
        head, tail, mp, ms, makespan = _evaluate(s, seqs)
        since_best += 1
        if makespan < best:
            best, best_seqs, best_head, since_best = makespan, [q[:] for q in seqs], head, 0
            improved_at = iteration
        elif since_best > 2_000:  # stuck: restart near the best with a few random swaps
            seqs = [q[:] for q in best_seqs]
            for _ in range(3):
                head, tail, mp, ms, makespan = _evaluate(s, seqs)
                candidates = _moves(_critical_blocks(s, head, tail, mp, makespan))
                if candidates:
                    a, b = rng.choice(candidates)
                    q = seqs[s.machine[a]]
                    k = q.index(a)
                    q[k], q[k + 1] = b, a
            head, tail, mp, ms, makespan = _evaluate(s, seqs)
            tabu.clear()
            since_best = 0
    out = tuple(
        tuple(best_head[s.first[j] + k] for k in range(len(job))) for j, job in enumerate(shop.jobs)
    )
    return TabuResult(best, out, iteration)
