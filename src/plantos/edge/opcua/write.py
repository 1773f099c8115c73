"""Writing one value to a variable: the OPC UA half of PlantOS's single OT write path
(``plantos.security.ot_write``), with the same login as the connection's reader."""

from __future__ import annotations

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.uaerrors import UaError

from plantos.edge.opcua.config import OpcUaSpec
from plantos.edge.opcua.security import apply_login, env_secret


async def write_variable(spec: OpcUaSpec, node_id: str, value: float) -> None:
    """Write ``value`` to ``node_id`` as the variable's own data type; :class:`ConnectionError`
    when the server cannot be reached or refuses (bad node, type or access level)."""
    client = Client(spec.endpoint, timeout=spec.request_timeout_s)
    user = spec.user
    await apply_login(
        client,
        spec.security,
        user=user.name if user else None,
        password=env_secret(user.password_env, "user password") if user else None,
    )
    try:
        await client.connect()
    except (OSError, TimeoutError, UaError) as exc:
        raise ConnectionError(f"cannot reach OPC UA server {spec.endpoint}: {exc}") from exc
    try:
        node = client.get_node(node_id)
        variant_type = await node.read_data_type_as_variant_type()
        typed: float | int | bool = value
        if variant_type in _INTEGERS:
            if value != int(value):
                raise ValueError(f"{node_id} holds whole numbers, not {value}")
            typed = int(value)
        elif variant_type == ua.VariantType.Boolean:
            typed = bool(value)
        await node.write_value(ua.DataValue(ua.Variant(typed, variant_type)))
    except UaError as exc:
        raise ConnectionError(f"OPC UA server {spec.endpoint} refused the write: {exc}") from exc
    finally:
        await client.disconnect()


_INTEGERS = {
    ua.VariantType.SByte, ua.VariantType.Byte, ua.VariantType.Int16, ua.VariantType.UInt16,
    ua.VariantType.Int32, ua.VariantType.UInt32, ua.VariantType.Int64, ua.VariantType.UInt64,
}  # fmt: skip
