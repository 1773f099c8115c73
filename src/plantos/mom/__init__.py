"""Manufacturing operations: products and routings, production orders, the scheduler."""
