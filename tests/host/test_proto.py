"""The wire codec: round trips, rejection of damaged input, and the same
answers from CPython and from the micropython binary (one codec, two ends)."""

from __future__ import annotations

import json
import random

from hypothesis import given
from hypothesis import strategies as st

from lunasample.firmware.sampler import packed, proto
from tests.conftest import run_micropython

KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=6)
VALUE = st.one_of(
    st.integers(min_value=-(2**31), max_value=2**31),
    st.text(alphabet=[chr(c) for c in range(32, 127) if chr(c) not in "$*,="], max_size=12),
)
TYPE = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=8)


def test_crc_matches_mcrf4xx_check_value() -> None:
    # CRC-16/MCRF4XX check value from the CRC catalogue.
    assert proto.crc16(b"123456789", 0, 9) == 0x6F91


@given(st.integers(0, proto.SEQ_MOD - 1), TYPE, st.dictionaries(KEY, VALUE, max_size=6))
def test_round_trip(seq: int, mtype: str, fields: dict[str, object]) -> None:
    try:
        frame = proto.encode(seq, mtype, fields)
    except ValueError:
        return  # too long for one frame: refused at the sender, never sent
    assert frame.endswith(b"\n") and len(frame) <= proto.MAX_FRAME
    assert all(32 <= b < 127 for b in frame[:-1])  # never 0x03/0x04 on the wire
    assert proto.decode(frame) == (seq, mtype, {k: str(v) for k, v in fields.items()})


@given(st.integers(0, 1000), TYPE, st.dictionaries(KEY, VALUE, max_size=4), st.data())
def test_any_single_byte_change_is_rejected(seq, mtype, fields, data) -> None:
    try:
        frame = bytearray(proto.encode(seq, mtype, fields))
    except ValueError:
        return
    i = data.draw(st.integers(0, len(frame) - 2))
    new = data.draw(st.integers(0, 255).filter(lambda b: b != frame[i]))
    frame[i] = new
    try:
        got = proto.decode(bytes(frame))
    except proto.FrameError as e:
        assert e.args[0] in proto.ERROR_NAMES
        return
    # CRC-16 catches every single-byte error in a frame this short.
    raise AssertionError(f"damaged frame accepted: {bytes(frame)!r} -> {got}")


@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_decoder(data: bytes) -> None:
    try:
        proto.decode(data)
    except proto.FrameError as e:
        assert e.args[0] in proto.ERROR_NAMES


@given(st.binary(max_size=2000))
def test_line_reader_bounds_memory(data: bytes) -> None:
    r = proto.LineReader()
    for b in data:
        line = r.feed(b)
        if line is not None:
            assert len(line) < proto.MAX_FRAME


def _corpus(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        f = bytearray(
            proto.encode(
                rng.randrange(65536),
                "CMD",
                {"a": rng.randrange(-999, 999), "txt": "x" * rng.randrange(5)},
            )
        )
        kind = i % 4
        if kind == 1:
            f[rng.randrange(len(f) - 1)] = rng.randrange(256)
        elif kind == 2:
            f = f[: rng.randrange(1, len(f))]
        elif kind == 3:
            f = bytearray(rng.randrange(256) for _ in range(rng.randrange(1, 250)))
        out.append(bytes(f))
    return out


def _results_cpython(corpus: list[bytes]) -> list[list[object]]:
    res: list[list[object]] = []
    for c in corpus:
        try:
            seq, t, f = proto.decode(c)
            res.append(["ok", seq, t, sorted(f.items())])
        except proto.FrameError as e:
            res.append(["err", e.args[0], e.args[2]])
    return res


def test_same_results_on_cpython_and_micropython() -> None:
    corpus = _corpus(300, seed=7)
    script = (
        "import json\nfrom sampler import proto\n"
        f"corpus = {[list(c) for c in corpus]!r}\n"
        "res = []\n"
        "for c in corpus:\n"
        "    try:\n"
        "        seq, t, f = proto.decode(bytes(c))\n"
        "        res.append(['ok', seq, t, sorted([list(kv) for kv in f.items()])])\n"
        "    except proto.FrameError as e:\n"
        "        res.append(['err', e.args[0], e.args[2]])\n"
        "print(json.dumps(res))\n"
    )
    r = run_micropython(script, heap_kb=1024)
    assert r.returncode == 0, r.stderr
    mp = json.loads(r.stdout)
    cp = json.loads(json.dumps(_results_cpython(corpus)))
    assert len(mp) == len(corpus)
    assert mp == cp
    assert any(x[0] == "ok" for x in cp) and any(x[0] == "err" for x in cp)


def _reference_frame(seq: int, mtype: str, fields: list[tuple[str, object]]) -> bytes:
    # docs/protocol.md written out plainly: the oracle for the frame builder.
    body = ",".join([str(seq), mtype] + [f"{k}={v}" for k, v in fields]).encode()
    return b"$" + body + b"*" + b"%04X" % proto.crc16(body, 0, len(body)) + b"\n"


FIELDS = st.lists(st.tuples(KEY, VALUE), max_size=8)
# Around the machine-word bound where the builder writes digits itself.
EDGE_INT = st.sampled_from(
    [0, -1, 9, 10, -10, 2**30 - 1, -(2**30) + 1, 2**30, -(2**30), 2**31, -(2**31), 10**12]
)


@given(
    st.integers(0, proto.SEQ_MOD - 1), TYPE, FIELDS, st.lists(st.tuples(KEY, EDGE_INT), max_size=3)
)
def test_encode_matches_the_spec(
    seq: int, mtype: str, fields: list[tuple[str, object]], edges: list[tuple[str, object]]
) -> None:
    fields = fields + edges
    want = _reference_frame(seq, mtype, fields)
    if len(want) > proto.MAX_FRAME:
        try:
            proto.encode(seq, mtype, fields)
        except ValueError:
            return
        raise AssertionError("a frame over MAX_FRAME was built")
    assert proto.encode(seq, mtype, fields) == want


def test_encode_is_identical_on_both_interpreters() -> None:
    # One micropython run over a seeded corpus: ints either side of the
    # machine-word bound, text values, frames that are too long.
    rnd = random.Random(11)
    ints = [0, -1, 7, -99999, 2**30 - 1, -(2**30) + 1, 2**30, -(2**31), 10**12]
    corpus = []
    for _ in range(300):
        fields = []
        for i in range(rnd.randrange(0, 14)):
            v: object = rnd.choice(ints) if rnd.random() < 0.3 else rnd.randrange(-(10**9), 10**9)
            if rnd.random() < 0.3:
                v = "".join(rnd.choice("ABCxyz09 ._-:") for _ in range(rnd.randrange(0, 20)))
            fields.append((f"k{i}", v))
        corpus.append((rnd.randrange(proto.SEQ_MOD), rnd.choice(["TM", "ACK", "EV"]), fields))

    script = (
        "from sampler import proto\n"
        f"corpus = {corpus!r}\n"
        "for seq, t, f in corpus:\n"
        "    try:\n"
        "        print(repr(proto.encode(seq, t, f)))\n"
        "    except ValueError:\n"
        "        print('too long')\n"
    )
    r = run_micropython(script, heap_kb=1024)
    assert r.returncode == 0, r.stderr
    want = []
    for seq, t, f in corpus:
        ref = _reference_frame(seq, t, f)
        want.append(repr(ref) if len(ref) <= proto.MAX_FRAME else "too long")
    assert r.stdout.split("\n")[:-1] == want
    assert "too long" in want and len(set(want)) > 200


def test_get_int_checks_range() -> None:
    assert proto.get_int({"n": "12"}, "n", 0, 20) == 12
    for bad, code in (("x", proto.E_BAD_ARG), ("99", proto.E_OUT_OF_RANGE), ("", proto.E_BAD_ARG)):
        try:
            proto.get_int({"n": bad}, "n", 0, 20)
        except proto.FrameError as e:
            assert e.args[0] == code
        else:
            raise AssertionError(bad)


PACKED = st.lists(st.integers(min_value=-(2**30) + 1, max_value=2**30 - 1), max_size=30)


@given(PACKED)
def test_packed_values_round_trip_and_stay_frame_safe(values: list[int]) -> None:
    text = packed.pack(values)
    assert packed.unpack(text) == values
    assert not set(text) & set("$*,=") and all(" " < c <= "~" for c in text)
    assert len(text) <= 7 * len(values)
    frame = proto.encode(1, "TM", {"v": text}) if len(text) < 150 else None
    if frame is not None:
        assert packed.unpack(proto.decode(frame)[2]["v"]) == values


@given(st.text(alphabet=[chr(c) for c in range(32, 127)], max_size=20))
def test_unpack_takes_only_packed_text(text: str) -> None:
    try:
        values = packed.unpack(text)
    except ValueError:
        return
    assert packed.pack(values) == text  # one spelling per list of values


def test_packed_values_are_the_same_in_micropython() -> None:
    rng = random.Random(5)
    values = [rng.randrange(-(2**30) + 1, 2**30) >> rng.randrange(31) for _ in range(300)]
    script = (
        "from sampler import packed\n"
        f"v = {values!r}\n"
        "t = packed.pack(v)\n"
        "print(t)\n"
        "print(packed.unpack(t) == v)\n"
    )
    r = run_micropython(script, heap_kb=256)
    assert r.returncode == 0, r.stderr
    text, same = r.stdout.split()
    assert text == packed.pack(values) and same == "True"


def test_an_overlong_frame_keeps_its_seq_for_the_nak() -> None:
    r = proto.LineReader()
    line = b"$4321,JADD,kind=" + b"x" * 300 + b"\n"
    got = [x for x in (r.feed(b) for b in line) if x is not None]
    assert got == [b""] and r.seq_of_long == 4321
    got = [x for x in (r.feed(b) for b in b"y" * 300 + b"\n") if x is not None]
    assert got == [b""] and r.seq_of_long == -1  # no frame start: no seq
