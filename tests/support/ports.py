"""Free TCP ports for the servers the tests start (see :mod:`plantos.testing.ports`)."""

from __future__ import annotations

from plantos.testing.ports import free_port as free_port
