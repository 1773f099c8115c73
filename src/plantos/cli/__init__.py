"""The ``plantos`` command."""
