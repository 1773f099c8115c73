"""SQL for partial aggregates, shared by rollup maintenance and bucketed queries.

A *part* is the partial state of one tag over one sub-bucket: count, sum, min,
max, first and last sample, and the time integral between its samples
(value x seconds, step-hold). Parts from raw samples and parts from a rollup
tier have the same columns, so one composing query merges any mix of them into
wider buckets, exactly: counts and sums add, extremes combine, and the integral
gains the hold from one part's last sample to the next part's first.
"""

from __future__ import annotations

# Samples with a Bad status code or a non-finite value never enter an aggregate.
USABLE = "quality < 2147483648 AND isfinite(value)"

PART_COLUMNS = "n, s, mn, mx, fts, fv, lts, lv, integral"

ROLLUP_DDL = """
CREATE TABLE IF NOT EXISTS {table} (
    tag_id INTEGER NOT NULL,
    bucket BIGINT NOT NULL,
    n BIGINT NOT NULL,
    s DOUBLE NOT NULL,
    mn DOUBLE NOT NULL,
    mx DOUBLE NOT NULL,
    fts BIGINT NOT NULL,
    fv DOUBLE NOT NULL,
    lts BIGINT NOT NULL,
    lv DOUBLE NOT NULL,
    integral DOUBLE NOT NULL
)
"""


def floor_expr(column: str, width_ns: int) -> str:
    """Bucket start of ``column`` for epoch-aligned buckets, correct for negative times too."""
    return f"({column} - ((({column} % {width_ns}) + {width_ns}) % {width_ns}))"


def raw_parts(width_ns: int, where: str) -> str:
    """Parts per (tag, bucket of ``width_ns``) from raw samples matching ``where``.

    Samples are ordered by tag, time, then arrival (``rowid``), so of two samples with
    the same timestamp the one stored later is the bucket's ``last``. One window over
    that order serves every bucket (the next sample counts only within the same tag and
    bucket): a partitioned window would sort once per bucket and cost twice as much.
    """
    return f"""
        SELECT tag_id, sub AS bucket, count(*) AS n, sum(value) AS s, min(value) AS mn,
               max(value) AS mx, min(ts) AS fts, arg_min(value, rn) AS fv, max(ts) AS lts,
               arg_max(value, rn) AS lv,
               coalesce(sum(CASE WHEN ntag = tag_id AND nsub = sub THEN value * (nts - ts) END), 0)
                   / 1e9 AS integral
        FROM (
            SELECT tag_id, ts, value, sub,
                   lead(ts) OVER w AS nts,
                   lead(tag_id) OVER w AS ntag,
                   lead(sub) OVER w AS nsub,
                   row_number() OVER w AS rn
            FROM (
                SELECT tag_id, ts, value, rowid AS rid, {floor_expr("ts", width_ns)} AS sub
                FROM samples WHERE ({where}) AND {USABLE}
            )
            WINDOW w AS (ORDER BY tag_id, ts, rid)
        )
        GROUP BY tag_id, sub
    """


def compose_parts(parts_sql: str, width_ns: int) -> str:
    """Merge parts (any widths dividing ``width_ns``) into buckets of ``width_ns``."""
    return f"""
        SELECT tag_id, b AS bucket, sum(n) AS n, sum(s) AS s, min(mn) AS mn, max(mx) AS mx,
               min(fts) AS fts, arg_min(fv, fts) AS fv, max(lts) AS lts, arg_max(lv, lts) AS lv,
               sum(integral + coalesce(lv * (nfts - lts), 0) / 1e9) AS integral
        FROM (
            SELECT *, lead(fts) OVER (PARTITION BY tag_id, b ORDER BY fts) AS nfts
            FROM (SELECT *, {floor_expr("bucket", width_ns)} AS b FROM ({parts_sql}))
        )
        GROUP BY tag_id, b
    """


# A sample any aggregate may use: a usable status, and text or a finite number.
USABLE_ANY = "quality < 2147483648 AND (exact IS NOT NULL OR isfinite(value))"


def discrete_buckets(tag_id: int, start_ns: int, end_ns: int, width_ns: int) -> str:
    """First, last, count and changes per bucket from raw samples, for tags whose values
    are states rather than measurements (text, enums) and for ``changes`` on any tag.

    A change is a sample whose value differs from the usable sample before it; the
    sample just before ``start_ns`` is read too, so the first bucket counts a change at
    its first sample correctly. Text and exact integers compare by ``exact``.
    """
    return f"""
        WITH joined AS (
            SELECT s.ts, s.value, s.quality, e.exact, s.rowid AS rid FROM samples s
            LEFT JOIN ({exact_of(f"tag_id = {int(tag_id)} AND ts < {int(end_ns)}")}) e
            USING (tag_id, ts)
            WHERE s.tag_id = {int(tag_id)} AND s.ts < {int(end_ns)}
        ), s AS (
            SELECT ts, value, exact, rid FROM joined
            WHERE {USABLE_ANY} AND ts >= {int(start_ns)}
            UNION ALL
            (SELECT ts, value, exact, rid FROM joined
             WHERE {USABLE_ANY} AND ts < {int(start_ns)} ORDER BY ts DESC, rid DESC LIMIT 1)
        ), w AS (
            SELECT *, {floor_expr("ts", width_ns)} AS bucket,
                   lag(value) OVER o AS pv, lag(exact) OVER o AS pe, row_number() OVER o AS rn
            FROM s WINDOW o AS (ORDER BY ts, rid)
        )
        SELECT bucket, count(*) AS n,
               first(value ORDER BY rn) AS fv, last(value ORDER BY rn) AS lv,
               first(exact ORDER BY rn) AS fe, last(exact ORDER BY rn) AS le,
               count(*) FILTER (
                   WHERE rn > 1 AND (pv IS DISTINCT FROM value OR pe IS DISTINCT FROM exact)
               ) AS changes
        FROM w WHERE ts >= {int(start_ns)}
        GROUP BY bucket ORDER BY bucket
    """


def exact_of(where: str) -> str:
    """The exact value of each (tag, time) matching ``where``, to join to ``samples`` on
    ``tag_id`` and ``ts``. Two samples of one tag at one instant that both carry one (two
    different texts at the same nanosecond) are not told apart: both show one of them."""
    return (
        f"SELECT tag_id, ts, any_value(exact) AS exact FROM exact_values WHERE {where} GROUP BY ALL"
    )
