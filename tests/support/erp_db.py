"""Fresh external databases standing in for an ERP's interface-table database: one on
the local PostgreSQL (127.0.0.1:5432, user postgres) or MariaDB (127.0.0.1:3306, root),
with a unique name, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pymysql

from tests.support.mom_db import fresh_postgres


@contextmanager
def fresh_mariadb() -> Iterator[str]:
    name = f"plantos_erp_{uuid.uuid4().hex[:12]}"
    admin = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
        yield f"mariadb://root@127.0.0.1:3306/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@contextmanager
def erp_database(kind: str) -> Iterator[str]:
    """A URL of an empty database of ``kind`` (``postgresql`` or ``mariadb``)."""
    if kind == "mariadb":
        with fresh_mariadb() as url:
            yield url
    else:
        with fresh_postgres() as url:
            yield url
