"""The simulated demo plant: realistic machine data and injectable faults, deterministically.

``plantos demo``, the tests and the evaluation of detectors all need plant data
with known truth. :class:`Simulator` produces it for every asset whose
``simulator.model`` it knows (``cnc-mill``, ``furnace``, ``weld-cell``,
``assembly-station``); :func:`parse_scenario` turns text such as
``bearing-wear:cnc-07:4h:12h`` into a fault to inject.
"""

from plantos.demo.simulator.engine import Simulator
from plantos.demo.simulator.scenarios import Scenario, parse_scenario

__all__ = ["Scenario", "Simulator", "parse_scenario"]
