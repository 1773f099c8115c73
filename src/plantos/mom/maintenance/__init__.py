"""Maintenance: work orders with their lifecycle, the ISO 14224 failure catalogue, the
maintenance history of each asset, and the policy of the maintenance loop."""
