# The emulated board's "ROM": what MicroPython's own startup code does on a
# real board, for the unix port. It sets up the simulated world, mounts the
# board's virtual filesystem at "/", runs main.py, and when main.py ends or
# is interrupted with Ctrl-C, serves the friendly and raw REPL (including
# raw-paste) on the console so mpremote works unchanged.

import gc
import json
import os
import sys

import simworld
import time  # noqa: F401 - the simulated module, imported before "/" is remounted
import machine  # noqa: F401 - likewise

_cfg = {}
_path = os.getenv("LUNASAMPLE_EMU_CONFIG")
if _path:
    with open(_path) as f:
        _cfg = json.load(f)
simworld.setup(_cfg)

for _name in _cfg.get("plants", ()):
    __import__(_name).attach(_cfg)
if _cfg.get("state"):
    simworld.restore(_cfg["state"])

_fs = _cfg.get("fs")
if _fs:
    os.umount("/")
    os.mount(os.VfsPosix(_fs), "/")
    os.chdir("/")
sys.path[:] = ["", "/lib", ".frozen"]

# Flash writes go through here so a power cut can land in the middle of one
# (fault "power_cut_on_write" = N: the Nth write from now is torn in half).
import builtins  # noqa: E402
import io  # noqa: E402

_open = builtins.open


class _Flash(io.IOBase):
    # A stream (io.IOBase) so json.dump and friends accept it.
    def __init__(self, f):
        self._f = f

    def readinto(self, buf):
        return self._f.readinto(buf)

    def ioctl(self, req, arg):
        if req == 4:  # MP_STREAM_CLOSE
            self._f.close()
        return 0

    def write(self, b):
        if simworld.fault("power_cut_on_write"):
            simworld.writes_left -= 1
            if simworld.writes_left <= 0:
                self._f.write(b[: len(b) // 2])
                self._f.flush()
                simworld.power_cut("brownout", 1)
        return self._f.write(b)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self._f.close()

    def __iter__(self):
        return iter(self._f)


def _flash_open(path, mode="r", *a):
    f = _open(path, mode, *a)
    return _Flash(f) if ("w" in mode or "a" in mode or "+" in mode) else f


builtins.open = _flash_open
_BUILTIN = set(sys.modules)

_in = sys.stdin.buffer
_out = sys.stdout.buffer
_BANNER = b"MicroPython v1.29 on lunasample emulator; " + str(
    _cfg.get("board", "emulator")).encode() + b" with unix port\r\n"


def _getc():
    b = _in.read(1)
    if not b:
        sys.exit(0)  # the host closed the line: power off
    return b[0]


def _w(b):
    _out.write(b)


def _run_main():
    try:
        os.stat("main.py")
    except OSError:
        return
    g = {"__name__": "__main__"}
    try:
        with open("main.py") as f:
            src = f.read()
        exec(src, g)
    except KeyboardInterrupt:
        _w(b"Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n")
    except SystemExit:
        pass
    except Exception as e:
        sys.print_exception(e, sys.stdout)


def _soft_reset():
    for m in list(sys.modules):
        if m not in _BUILTIN:
            del sys.modules[m]
    simworld.reset_cause = 5  # machine.SOFT_RESET
    gc.collect()
    _w(b"MPY: soft reboot\r\n")


def _exec(src, g):
    try:
        exec(src, g)
    except SystemExit:
        return True
    except BaseException as e:
        _w(b"\x04")
        sys.print_exception(e, sys.stdout)
        _w(b"\x04")
        return False
    _w(b"\x04\x04")
    return False


def _raw_paste(g):
    window = 128
    _w(b"R\x01" + bytes((window & 0xFF, window >> 8)))
    buf = bytearray()
    got = 0
    while True:
        c = _getc()
        if c == 4:
            _w(b"\x04")
            break
        buf.append(c)
        got += 1
        if got == window:
            got = 0
            _w(b"\x01")
    return _exec(bytes(buf), g)


def _raw_repl(g):
    """Returns 'friendly' or 'reset_raw'."""
    _w(b"raw REPL; CTRL-B to exit\r\n")
    while True:
        _w(b">")
        line = bytearray()
        while True:
            c = _getc()
            if c == 1:
                if len(line) == 2 and line[0] == 5 and line[1] == 65:
                    line = None
                    break
                _w(b"raw REPL; CTRL-B to exit\r\n>")
                line = bytearray()
            elif c == 2:
                _w(b"\r\n")
                return "friendly"
            elif c == 3:
                line = bytearray()
            elif c == 4:
                break
            else:
                line.append(c)
        if line is None:
            if _raw_paste(g):
                return "reset_raw"
            continue
        _w(b"OK")
        if not line:
            _w(b"\r\n")
            return "reset_raw"
        if _exec(bytes(line), g):
            return "reset_raw"


def _friendly(g):
    """Returns 'raw' or 'reset'."""
    _w(_BANNER + b'Type "help()" for more information.\r\n>>> ')
    line = bytearray()
    while True:
        c = _getc()
        if c == 1:
            return "raw"
        if c == 4 and not line:
            return "reset"
        if c == 3:
            line = bytearray()
            _w(b"\r\nKeyboardInterrupt\r\n>>> ")
        elif c == 2:
            _w(b"\r\n" + _BANNER + b">>> ")
        elif c == 13 or c == 10:
            _w(b"\r\n")
            if line:
                src = bytes(line).decode()
                line = bytearray()
                try:
                    try:
                        r = eval(src, g)
                        if r is not None:
                            _w(repr(r).encode() + b"\r\n")
                    except SyntaxError:
                        exec(src, g)
                except SystemExit:
                    return "reset"
                except BaseException as e:
                    sys.print_exception(e, sys.stdout)
            _w(b">>> ")
        elif c == 8 or c == 127:
            if line:
                line.pop()
                _w(b"\x08 \x08")
        else:
            line.append(c)
            _w(bytes((c,)))


def _board():
    # As on a board: main.py runs at power-on and after a soft reset from the
    # friendly REPL; a soft reset from the raw REPL comes back in raw mode.
    state = "main"
    g = {}
    while True:
        if state == "main":
            _run_main()
            g = {"__name__": "__main__"}
            state = "friendly"
        elif state == "friendly":
            if _friendly(g) == "raw":
                state = "raw"
            else:
                _soft_reset()
                state = "main"
        elif _raw_repl(g) == "friendly":
            state = "friendly"
        else:
            _soft_reset()
            g = {"__name__": "__main__"}


_board()
