"""Manufacturing operations: products and routings, production orders tracked live from
machine counters, and the plans of the finite-capacity scheduler.

``domain`` holds the plain classes and their rules (no database, no bus); ``store`` maps
them to SQL tables behind a unit of work with a transactional outbox; ``service`` holds
the handlers the API, the CLI and the bus consumers call.
"""
