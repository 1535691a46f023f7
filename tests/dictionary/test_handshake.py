"""The handshake and error replies as docs/protocol.md specifies them, on the
emulated board: an unknown protocol version is refused with the versions the
board speaks and changes nothing; too_long names the frame's seq."""

from __future__ import annotations

import time

import pytest

from lunasample.firmware.sampler import proto
from lunasample.link.client import CommandRejected, Frame, Link


def test_an_unknown_version_is_refused_with_the_boards_versions(link: Link) -> None:
    ping = link.command("PING", n=7)  # cached under this session
    with pytest.raises(CommandRejected) as e:
        link.send_command("HELLO", {"sid": "other", "proto": 2}, check=False)
    assert e.value.code == proto.E_BAD_VERSION
    assert e.value.fields["proto"] == "+".join(str(v) for v in proto.PROTOCOL_VERSIONS)
    with pytest.raises(CommandRejected) as e:
        link.send_command("HELLO", {"sid": "other"}, check=False)
    assert e.value.code == proto.E_BAD_ARG
    # Nothing changed: the refused HELLOs did not start a new session, so a
    # retry of the PING is still answered from the cache, not executed.
    before = link.command("STATUS").int("replays")
    link._write(proto.encode(ping.int("re"), "PING", {"n": 7}))
    deadline = time.monotonic() + 5
    while link.command("STATUS").int("replays") == before:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_too_long_names_the_frames_seq(link: Link) -> None:
    naks: list[Frame] = []
    link.subscribe("NAK", naks.append)
    link._write(b"$4321,JADD,kind=" + b"x" * 300 + b"*0000\n")
    link._write(b"$" + b"y" * 300 + b"\n")
    deadline = time.monotonic() + 5
    while len(naks) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert [f.int("err") for f in naks] == [proto.E_TOO_LONG] * 2
    assert naks[0].fields.get("re") == "4321" and "re" not in naks[1].fields
