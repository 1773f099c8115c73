"""An asyncua server in its own process, so a test can freeze it (SIGSTOP): the TCP
connection stays open but nothing answers, as with a hung PLC. Serves ``ns=2;s=Speed``
(Double) and ``ns=2;s=Lot`` (String). Run as ``python -m tests.support.opcua_server PORT``;
prints ``ready`` once listening."""

from __future__ import annotations

import asyncio
import sys

from asyncua import ua
from asyncua.server.server import Server


async def serve(port: int) -> None:
    server = Server()
    await server.init()
    server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/plantos/")
    ns = await server.register_namespace("urn:plantos:test:frozen")
    machine = await server.nodes.objects.add_object(ns, "Machine")
    speed = await machine.add_variable(ua.NodeId("Speed", ns), "Speed", 0.0)
    await machine.add_variable(ua.NodeId("Lot", ns), "Lot", "L-1")
    async with server:
        print("ready", flush=True)
        value = 0.0
        while True:  # a changing value: a frozen server is noticed by silence, not by change
            value += 1.0
            await speed.write_value(value)
            await asyncio.sleep(0.1)


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
