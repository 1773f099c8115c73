"""The edge gateway (``plantos edge``): collect in the OT zone, store on local disk, forward
upstream as a Sparkplug B edge node, replay after outages without loss or duplicates."""
