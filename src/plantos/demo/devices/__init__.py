"""The live demo's simulated plant behind real protocol servers: the CNC cell as an OPC UA
server, the furnaces as a Modbus TCP server, the assembly and weld lines as Sparkplug B
edge nodes on an MQTT broker. PlantOS reads them with its own connectors."""

from plantos.demo.devices.wiring import DemoDevices, DeviceOptions

__all__ = ["DemoDevices", "DeviceOptions"]
