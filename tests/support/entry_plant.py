"""A small machining line with manual tags of every type, a start-of-shift and a
lock-out/tag-out checklist and scrap reasons: the plant the manual-entry tests share."""

from __future__ import annotations

LINE = "site-1/machining/line-1"
OTHER_LINE = "site-1/machining/line-2"
CNC1, CNC2, CNC9 = f"{LINE}/cnc-1", f"{LINE}/cnc-2", f"{OTHER_LINE}/cnc-9"
PLANT = """\
plantos: 1
enterprise: {id: testco, name: Test Company}
calendars:
  two-shift:
    timezone: UTC
    shifts:
      - {name: early, start: "06:00", end: "14:00", days: [mon, tue, wed, thu, fri, sat, sun]}
      - {name: late, start: "14:00", end: "22:00", days: [mon, tue, wed, thu, fri, sat, sun]}
asset_types:
  cnc-mill:
    tags:
      - {signal: spindle_vibration, unit: mm/s, range: [0, 40]}
      - {signal: coolant_concentration, unit: percent, range: [3, 12], entry: manual,
         description: Refractometer reading}
      - {signal: oil_temperature, unit: degC, range: [10, 80], entry: manual}
      - {signal: tool_changes, type: uint, range: [0, 50], entry: manual}
      - {signal: guard_ok, type: bool, entry: manual}
      - {signal: surface, type: enum, states: {0: fine, 1: rough, 2: damaged}, entry: manual}
      - {signal: batch_note, type: text, max_length: 20, entry: manual}
sites:
  - id: site-1
    areas:
      - id: machining
        lines:
          - id: line-1
            calendar: two-shift
            assets:
              - {id: cnc-1, type: cnc-mill}
              - {id: cnc-2, type: cnc-mill}
          - id: line-2
            assets:
              - {id: cnc-9, type: cnc-mill}
mom: {counting: operator}
entry:
  scrap_reasons: {dimension: Dimension out of tolerance, surface: Surface defect}
  checklists:
    start-of-shift:
      title: Start of shift
      when: shift-start
      items:
        - {id: guards, text: Guards and light curtains in place, kind: yes_no, expect: true}
        - {id: air, text: Air pressure, kind: value, unit: bar, range: [5, 7]}
        - {id: remarks, text: Remarks, kind: text, required: false}
    loto:
      title: Lock-out/tag-out
      when: work-order-start
      items:
        - {id: isolated, text: Energy isolated and padlocked, kind: yes_no, expect: true}
        - {id: tagged, text: Tag with name and phone on the lock, kind: yes_no}
"""
MOM_YAML = f"""\
products:
  - {{id: shaft, name: Shaft, routing: shaft}}
routings:
  - id: shaft
    product: shaft
    operations:
      - name: turn
        assets:
          - {{asset: {CNC1}, setup: 5m, run_per_unit: 2m}}
          - {{asset: {CNC2}, setup: 5m, run_per_unit: 2m}}
"""
