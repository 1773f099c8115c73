"""The shared kernel: sample batches, quality codes, events, clocks, durations and errors.

Everything here is pure and free of I/O so that every layer may import it.
"""
