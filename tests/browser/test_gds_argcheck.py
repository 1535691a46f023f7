"""The page's argument check is the server's and the board's together.

Hypothesis draws commands and argument texts (in and out of range, not
numbers, odd characters, the choices); the page's checkArgs judges a batch
in the browser. Here the same batch goes to the dictionary's check_args
(which the server runs) and, for integers, to the board's own parser
(proto.get_int, the firmware's code). Whatever the page would send, both
accept as sent; whatever the page refuses, one of them refuses.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lunasample import dictionary
from lunasample.firmware.sampler import proto
from tests.browser.conftest import Gds

pytestmark = pytest.mark.browser

COMMANDS = [c for c in dictionary.as_json()["commands"] if c["args"]]


# What String.prototype.trim() removes (ECMAScript WhiteSpace and
# LineTerminator): not Python's str.strip(), which also takes \x1c-\x1f and \x85.
JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def board_refuses(name: str, sent: dict[str, str]) -> bool:
    """Whether the board's parser refuses one of the integer arguments."""
    d = dictionary.load()
    for arg in d.command(name)["args"]:
        if arg["type"] == "int" and arg["name"] in sent:
            lo, hi = d.arg_range(arg)
            try:
                proto.get_int(sent, arg["name"], lo, hi)
            except proto.FrameError:
                return True
    return False


def _value(arg: dict[str, Any]) -> st.SearchStrategy[str]:
    lo = arg["min"] if arg["min"] is not None else -100000
    hi = arg["max"] if arg["max"] is not None else 100000
    parts = [
        st.integers(lo - 5, hi + 5).map(str),
        st.integers(-(10**12), 10**12).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
        st.text(st.characters(min_codepoint=0, max_codepoint=0x2FF), max_size=6),
        st.sampled_from(["", " ", "1e3", "0x10", "+7", "-0", " 12 ", "1_000", "07"]),
    ]
    if arg.get("choices"):
        parts.append(st.sampled_from(arg["choices"]))
    return st.one_of(parts)


@st.composite
def case(draw: st.DrawFn) -> tuple[str, dict[str, str]]:
    cmd = draw(st.sampled_from(COMMANDS))
    args = {a["name"]: draw(_value(a)) for a in cmd["args"] if draw(st.booleans())}
    return cmd["name"], args


@pytest.fixture(scope="module")
def judge(gds: Gds, browser_context: Any) -> Any:
    page = browser_context.new_page()
    page.goto(gds.url)  # no token needed: checkArgs runs before anything is sent
    page.wait_for_function("Object.keys(window.gds.commands).length > 0")
    yield page
    page.close()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(case(), min_size=40, max_size=40))
def test_page_and_server_agree_on_arguments(
    judge: Any, batch: list[tuple[str, dict[str, str]]]
) -> None:
    verdicts = judge.evaluate(
        "batch => batch.map(([name, args]) => checkArgs(window.gds.commands[name], args))",
        batch,
    )
    d = dictionary.load()
    for (name, args), (clean, err) in zip(batch, verdicts, strict=True):
        if clean is not None:
            # what the page sends passes the server's check and the board's parser
            d.check_args(name, clean)
            assert not board_refuses(name, clean), (name, clean)
            continue
        # what the page refuses, the server or the board refuses (the page
        # trims each field and leaves blank ones out)
        sent = {k: v.strip(JS_SPACE) for k, v in args.items() if v.strip(JS_SPACE) != ""}
        try:
            d.check_args(name, sent)
        except dictionary.ArgError:
            continue
        assert board_refuses(name, sent), f"the page refused {name} {sent!r} ({err}) alone"
