"""Manual entry that replaces clipboards: readings no sensor gives, digital checklists
and scrap with a reason, each validated against the plant model and attributed to the
person who entered it.

``readings`` checks a typed value against its tag (type, unit, range) before it joins
the stream like any machine's; ``checklists`` holds the definitions from the plant file
and the rules for answers; ``submissions`` stores a checklist once per instance, with its
outbox event, in the operations database.
"""
