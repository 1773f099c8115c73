"""The reactions that cross domains: each one a bus consumer that turns a judgement
into business facts inside one transaction, readable top to bottom as the scenario."""
