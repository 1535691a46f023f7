"""Opening a serial port by device path or pyserial URL, with one-line errors."""

from __future__ import annotations

import errno
import os
import socket

import serial

from lunasample.errors import UserError


def open_port(port: str, baudrate: int = 115200, timeout: float = 0.05) -> serial.SerialBase:
    """Open `port` (/dev/ttyACM0, COM3, socket://host:port, a PTY path, any pyserial URL).

    Raises UserError naming the port and the reason (missing, busy, refused).
    """
    try:
        ser = serial.serial_for_url(
            port, baudrate=baudrate, timeout=timeout, write_timeout=5, exclusive=True
        )
    except ValueError as e:  # unknown URL scheme, bad parameter
        raise UserError(f"cannot open {port}: {e}") from None
    except serial.SerialException as e:
        raise UserError(f"cannot open {port}: {_reason(port, e)}") from None
    except OSError as e:
        raise UserError(f"cannot open {port}: {e.strerror or e}") from None
    sock = getattr(ser, "_socket", None)  # pyserial's socket:// handler
    if isinstance(sock, socket.socket):
        # Frames are small and come one at a time: without this, Nagle's
        # algorithm holds each command back until the previous one is acked.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return ser


def _reason(port: str, e: serial.SerialException) -> str:
    no = getattr(e, "errno", None)
    text = str(e)
    if no == errno.ENOENT or (
        not port.startswith(("socket:", "rfc2217:", "loop:"))
        and "://" not in port
        and not os.path.exists(port)
    ):
        return "no such port (is the board plugged in? try `lunasample ports`)"
    if no == errno.EBUSY or "busy" in text.lower() or "lock" in text.lower():
        return "port is busy (another program, e.g. a serial monitor, has it open)"
    if no == errno.EACCES or "permission" in text.lower():
        return "permission denied (add yourself to the dialout/uucp group)"
    if "refused" in text.lower():
        return "connection refused (is `lunasample emulate` running?)"
    return text.splitlines()[0] if text else type(e).__name__
