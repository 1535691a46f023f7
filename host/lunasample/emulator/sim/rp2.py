# The `rp2` module of the simulated RP2040, present only in a world set up
# with {"pio": 1}: otherwise an RP2040 board file in the emulator would pick
# the simulated PIO for its HX711. A small gate, so a failed import costs
# little heap; the simulator itself is pio_sim.py.
import simworld

if not simworld.config.get("pio"):
    raise ImportError("rp2: no simulated PIO in this world (config 'pio')")

from pio_sim import *  # noqa: E402, F403
