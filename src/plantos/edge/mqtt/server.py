"""Where an MQTT server is and how to log in to it, and the one way PlantOS opens a session.

Every MQTT speaker in PlantOS (the Sparkplug host, Sparkplug edge nodes, the JSON
connector, the edge gateway's upstream) connects the same way: ``mqtt://`` or
``mqtts://`` (TLS, optionally with a client certificate), optional user name with the
password read from an environment variable at connect time (never written in YAML),
and failures reported as :class:`ConnectionError` with the server named, so the
supervisor can back off and retry.

paho-mqtt runs its network loop in its own thread; :func:`open_session` waits for the
CONNACK there without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class TlsFiles:
    """PEM files for a TLS session: the CA that signed the server's certificate (None:
    the system's trust store) and, for mutual TLS, the client's certificate and key."""

    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class MqttServer:
    """An MQTT server and the credentials to use on it."""

    host: str
    port: int
    tls: TlsFiles | None = None
    username: str | None = None
    password_env: str | None = None
    """Name of the environment variable holding the password."""

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    def password(self) -> str | None:
        if self.password_env is None:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConnectionError(f"{self}: the password variable {self.password_env} is not set")
        return value


class MqttServerFields(BaseModel):
    """The YAML fields naming an MQTT server, shared by every MQTT connector's spec:
    ``broker: mqtts://host:8883``, ``username``, ``password_env``, ``ca_file``,
    ``cert_file``, ``key_file``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    broker: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password_env: str | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None

    @field_validator("broker")
    @classmethod
    def _broker(cls, value: str) -> str:
        url = urlsplit(value)
        if url.scheme not in DEFAULT_PORTS or not url.hostname:
            raise ValueError(
                f"broker must look like mqtt://host:1883 or mqtts://host:8883, got {value!r}"
            )
        if url.path not in ("", "/") or url.username or url.password:
            raise ValueError(
                f"broker is only scheme://host:port (credentials go in username and "
                f"password_env), got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> MqttServerFields:
        tls = urlsplit(self.broker).scheme == "mqtts"
        if not tls and (self.ca_file or self.cert_file or self.key_file):
            raise ValueError("ca_file, cert_file and key_file need an mqtts:// broker")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (mutual TLS)")
        if self.password_env is not None and self.username is None:
            raise ValueError("password_env needs a username")
        return self

    def mqtt_server(self) -> MqttServer:
        """The runtime form; certificate paths are taken as written (relative ones from the
        working directory, as for OPC UA certificates)."""
        url = urlsplit(self.broker)
        tls = None
        if url.scheme == "mqtts":
            tls = TlsFiles(self.ca_file, self.cert_file, self.key_file)
        return MqttServer(
            host=url.hostname or "127.0.0.1",
            port=url.port or DEFAULT_PORTS[url.scheme],
            tls=tls,
            username=self.username,
            password_env=self.password_env,
        )


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


class _Connack:
    """The CONNACK of one connection attempt, handed from paho's thread."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.code: ReasonCode | None = None

    def on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        self.code = rc
        self.event.set()


async def open_session(
    server: MqttServer,
    *,
    client_id: str,
    on_message: Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None] | None = None,
    on_disconnect: Callable[[mqtt.Client, Any, Any, ReasonCode, Any], None] | None = None,
    will: Will | None = None,
    clean_session: bool = True,
    keepalive_s: int = 10,
    timeout_s: float = 5.0,
    max_inflight: int = 20,
    manual_ack: bool = False,
) -> mqtt.Client:
    """A connected paho client with its network thread running; raises
    :class:`ConnectionError` naming the server when it cannot be reached, does not
    answer, refuses the login or fails the TLS handshake. ``manual_ack``: incoming QoS 1/2
    messages are acknowledged only by ``client.ack(mid, qos)``."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        reconnect_on_failure=False,
    )
    client.max_inflight_messages_set(max_inflight)
    client.manual_ack_set(manual_ack)
    if server.tls is not None:
        client.tls_set(
            ca_certs=str(server.tls.ca_file) if server.tls.ca_file else None,
            certfile=str(server.tls.cert_file) if server.tls.cert_file else None,
            keyfile=str(server.tls.key_file) if server.tls.key_file else None,
            cert_reqs=ssl.CERT_REQUIRED,
            tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    if server.username is not None:
        client.username_pw_set(server.username, server.password())
    if will is not None:
        client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
    connack = _Connack()
    client.on_connect = connack.on_connect
    if on_message is not None:
        client.on_message = on_message
    if on_disconnect is not None:
        client.on_disconnect = on_disconnect
    try:
        async with asyncio.timeout(timeout_s):  # not wait_for: it can swallow a cancellation
            await asyncio.to_thread(client.connect, server.host, server.port, keepalive_s)
    except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
        _close_abandoned_sockets(exc)
        raise ConnectionError(f"cannot reach MQTT server {server}: {exc}") from exc
    client.loop_start()
    if not await asyncio.to_thread(connack.event.wait, timeout_s):
        await close_session(client)
        raise ConnectionError(f"MQTT server {server} did not answer CONNECT within {timeout_s} s")
    if connack.code is None or connack.code.is_failure:
        await close_session(client)
        raise ConnectionError(f"MQTT server {server} refused the connection: {connack.code}")
    return client


def _close_abandoned_sockets(exc: BaseException) -> None:
    """paho-mqtt 2 leaves the socket of a failed TLS handshake to the garbage collector
    (it is a local of the frame that raised); close it now, so a refused certificate does
    not leak a file descriptor per retry."""
    tb = exc.__traceback__
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            if isinstance(value, socket.socket):
                value.close()
        tb = tb.tb_next


async def subscribe(
    client: mqtt.Client, topics: list[tuple[str, int]], *, timeout_s: float = 5.0
) -> None:
    """Subscribe and wait for the SUBACK; a refused filter raises :class:`ConnectionError`."""
    done = threading.Event()
    codes: list[ReasonCode] = []

    def on_subscribe(
        client: mqtt.Client, userdata: Any, mid: int, rcs: list[ReasonCode], props: Any
    ) -> None:
        codes.extend(rcs)
        done.set()

    client.on_subscribe = on_subscribe
    result, _mid = client.subscribe(topics)
    if result != mqtt.MQTT_ERR_SUCCESS:
        raise ConnectionError(f"cannot subscribe: {mqtt.error_string(result)}")
    if not await asyncio.to_thread(done.wait, timeout_s):
        raise ConnectionError("the MQTT server did not acknowledge the subscriptions")
    refused = [t for (t, _q), rc in zip(topics, codes, strict=False) if rc.is_failure]
    if refused:
        raise ConnectionError(f"the MQTT server refused the subscriptions {refused}")


async def publish_confirmed(
    client: mqtt.Client,
    topic: str,
    payload: bytes,
    *,
    qos: int = 1,
    retain: bool = False,
    timeout_s: float = 5.0,
) -> None:
    """Publish and wait until paho has handed the message over (QoS 0: written to the
    socket; QoS 1: acknowledged by the server); raises :class:`ConnectionError` otherwise."""
    info = client.publish(topic, payload, qos=qos, retain=retain)
    if info.rc != mqtt.MQTT_ERR_SUCCESS:
        raise ConnectionError(f"cannot publish to {topic}: {mqtt.error_string(info.rc)}")
    try:
        await asyncio.to_thread(info.wait_for_publish, timeout_s)
    except (RuntimeError, ValueError) as exc:
        raise ConnectionError(f"publish to {topic} failed: {exc}") from exc
    if not info.is_published():
        raise ConnectionError(f"the MQTT server did not acknowledge {topic} within {timeout_s} s")


async def close_session(client: mqtt.Client) -> None:
    """Disconnect (if still connected) and stop paho's network thread."""
    if client.is_connected():
        client.disconnect()
    await asyncio.to_thread(client.loop_stop)
