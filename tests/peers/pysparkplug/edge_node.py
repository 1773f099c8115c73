"""A Sparkplug B edge node built with pysparkplug, driven by JSON lines on stdin.

Runs in its own environment (pysparkplug needs paho-mqtt < 2). Commands, one JSON
object a line: ``{"op": "update", "metrics": [[name, datatype, value, ts_ms], ...]}``
publishes NDATA; ``{"op": "rebirth"}`` reconnects, so the node births again with every
metric's last value and original timestamp (as pysparkplug does on connect);
``{"op": "stop"}`` disconnects cleanly. A Rebirth NCMD from a host also reconnects.
Prints ``ready`` once connected and ``ok`` after each command.
"""

import datetime
import json
import sys
import time

import pysparkplug as sp


def metric(name, datatype, value, ts_ms):
    """DATETIME values come as epoch ms and BYTES as text: JSON has neither."""
    if datatype == "DATETIME":
        value = datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC)
    elif datatype == "BYTES":
        value = value.encode()
    return sp.Metric(timestamp=ts_ms, name=name, datatype=sp.DataType[datatype], value=value)


def main() -> None:
    host, port, group, node_id = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    first = json.loads(sys.stdin.readline())["metrics"]
    rebirths = []
    node = sp.EdgeNode(
        group,
        node_id,
        [metric(*m) for m in first],
        cmd_callback=lambda _node, message: rebirths.append(message),
    )
    node.connect(host, port=port)
    time.sleep(0.3)
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if rebirths or cmd["op"] == "rebirth":
            rebirths.clear()
            node.disconnect()
            node.connect(host, port=port)
            time.sleep(0.3)
        if cmd["op"] == "update":
            node.update([metric(*m) for m in cmd["metrics"]])
        elif cmd["op"] == "stop":
            node.disconnect()
            print("ok", flush=True)
            return
        print("ok", flush=True)


if __name__ == "__main__":
    main()
