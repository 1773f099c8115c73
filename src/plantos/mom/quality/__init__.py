"""Quality: nonconformances opened by SPC violations and failed inspections, the holds
they put on orders, and their disposition."""
