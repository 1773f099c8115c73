"""Quality: nonconformances opened by SPC violations and failed inspections, the holds
they put on orders and lots, their disposition, and where lots come from."""
