"""`lunasample ports`: list serial ports, marking likely MicroPython boards."""

from __future__ import annotations

import argparse

from serial.tools import list_ports

# USB vendor IDs of the boards in boards/: Raspberry Pi (Pico), Espressif,
# and the USB-UART bridges on ESP32 DevKitC (Silicon Labs CP210x, WCH CH340).
_KNOWN = {
    0x2E8A: "Raspberry Pi RP2040",
    0x303A: "Espressif",
    0x10C4: "CP210x (ESP32 DevKitC)",
    0x1A86: "CH340 (ESP32 DevKitC)",
}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ports",
        help="list serial ports that may be boards",
        description="List serial ports; likely MicroPython boards are marked.",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    ports = sorted(list_ports.comports(), key=lambda p: p.device)
    if not ports:
        print("no serial ports found (for an emulated board: `lunasample emulate`)")
        return 0
    for p in ports:
        kind = _KNOWN.get(p.vid or -1, "")
        print(f"{p.device:20} {kind:28} {p.description}")
    return 0
