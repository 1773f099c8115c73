"""Streaming judgements over sample batches: machine state, OEE, SPC, anomaly detection."""
