"""MQTT as PlantOS speaks it: server addresses, TLS and credentials (``server``), shared by
the Sparkplug B host and edge node, the JSON connector and the edge gateway."""
