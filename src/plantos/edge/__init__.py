"""The OT side: protocol connectors, the simulator, store-and-forward and the gateway process."""
