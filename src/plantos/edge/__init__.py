"""The OT side: protocol connectors, store-and-forward and the gateway process."""
