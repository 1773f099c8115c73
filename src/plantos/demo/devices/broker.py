"""An MQTT broker inside the demo process (amqtt), for when no broker is given.

Sparkplug needs a broker between edge nodes and host; asking a demo user to install
one first would make ``plantos demo`` the only command that does not just run. The
embedded broker listens on 127.0.0.1 only, lets anyone in (nothing leaves the machine)
and keeps no state between runs. ``--broker mqtt://host:port`` replaces it.
"""

from __future__ import annotations

from amqtt.broker import Broker
from amqtt.contexts import BrokerConfig, ListenerConfig, ListenerType

from plantos.edge.mqtt.server import MqttServer


class EmbeddedBroker:
    def __init__(self, *, port: int) -> None:
        self.server = MqttServer("127.0.0.1", port)
        self._broker: Broker | None = None

    async def start(self) -> None:
        config = BrokerConfig(
            listeners={
                "default": ListenerConfig(
                    type=ListenerType.TCP, bind=f"127.0.0.1:{self.server.port}"
                )
            },
            plugins={"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        )
        broker = Broker(config)
        await broker.start()
        self._broker = broker

    async def stop(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            await broker.shutdown()
