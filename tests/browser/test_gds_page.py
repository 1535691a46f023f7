"""The ground station's page in a real browser against an emulated board.

What the board did is read from the emulated plant (the drill motor's true
speed) and through the station's own link, not only from the page's DOM.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.browser.conftest import TOKEN, Gds

pytestmark = pytest.mark.browser


@pytest.fixture
def page(gds: Gds, browser_context: Any) -> Iterator[Any]:
    """A fresh tab on the station with the token, once the board's link is up."""
    pg = browser_context.new_page()
    pg.set_default_timeout(10000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(gds.url + f"#token={TOKEN}")
    pg.wait_for_selector('#link-state[data-state="up"]', timeout=15000)
    yield pg
    pg.close()
    assert errors == [], f"script errors on the page: {errors}"


def wait_for(what: str, pred: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def drill_rpm(gds: Gds) -> float:
    """The drill motor's true speed in the emulated plant."""
    return float(gds.board.query()["plants"]["drill"]["rpm"])


def board_state(gds: Gds) -> str:
    reply = gds.station.link.command("STATUS", {})
    assert reply["ok"], reply
    return str(reply["f"]["st"])


def send_form(page: Any, cmd: str, **args: str) -> str:
    """Fill a command's form, press Send, and return the result line once it settles."""
    form = page.locator(f'form[data-cmd="{cmd}"]')
    for name, value in args.items():
        form.locator(f'[name="{name}"]').fill(value)
    form.locator('button[type="submit"]').click()
    result = form.locator(".result")
    page.wait_for_function(
        "el => el.textContent && el.textContent !== 'sent…'", arg=result.element_handle()
    )
    return str(result.text_content())


def recover(page: Any, gds: Gds) -> None:
    """Back to SAFE from whatever a test left."""
    if board_state(gds) == "FAULT":
        assert send_form(page, "RESET").startswith("ACK")
    if board_state(gds) != "SAFE":
        send_form(page, "DISARM")
    assert board_state(gds) == "SAFE"


def test_page_loads_with_estop_and_board(page: Any, gds: Gds) -> None:
    estop = page.locator("#estop")
    assert estop.is_visible()
    assert "E-STOP" in estop.inner_text()
    hello = gds.station.link.link.hello  # what the board said in its HELLO
    assert hello is not None
    assert f"fw {hello.firmware}" in page.inner_text("#board-info")
    assert page.locator('form.cmd[data-cmd="ARM"]').count() == 1
    # the parameter table comes from the board (PARAMS/PARAM)
    wait_for("parameter rows", lambda: page.locator("#param-table tbody tr").count() > 5)
    # the E-STOP stays in view when the page is scrolled to its end
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    assert estop.is_visible()
    box = estop.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 800


def test_telemetry_updates(page: Any, gds: Gds) -> None:
    def board_ms() -> int:
        return int(page.evaluate("Number(window.gds.tm.t || 0)"))

    first = board_ms()
    wait_for("new telemetry", lambda: board_ms() >= first + 500)
    # the plot columns grow with the samples, at the board's own times
    xs = page.evaluate("window.gds.data.speed[0]")
    assert len(xs) >= 5 and xs == sorted(xs)
    assert xs[-1] * 1000 == pytest.approx(board_ms(), abs=1)
    # the page shows what the board measures: its uptime tracks the link's clock
    assert abs(board_ms() - gds.station.link.link.clock.board_ms) < 1500
    assert "STALE" not in page.inner_text("#tm-age")
    # readouts come from the dictionary: enum names and units
    page.wait_for_function(
        "s => document.getElementById('ro-st').textContent === s", arg=board_state(gds)
    )
    assert page.inner_text("#ro-dr").endswith(" rpm")
    assert page.inner_text("#ro-a1").endswith(" deg")
    # the mass bar's target is the mission's, from params.toml
    from lunasample.mission.params import load_params

    target = load_params().sampling.target_g
    assert page.evaluate("MASS_TARGET_G") == target
    assert page.inner_text("#mass-text").endswith(f"of {target:g} g")


def test_command_round_trips(page: Any, gds: Gds) -> None:
    recover(page, gds)
    assert send_form(page, "ARM") == "ACK ack=done st=ARMED"
    assert board_state(gds) == "ARMED"
    # the board's own state event reaches the log and the state pill
    page.wait_for_selector('#event-log tr[data-kind="ev-state"] >> text=st=ARMED')
    page.wait_for_selector('#safety-state[data-state="ARMED"]')
    assert send_form(page, "DISARM").startswith("ACK")
    assert board_state(gds) == "SAFE"
    # a NAK comes back as the board's error: SPIN needs ARM first
    assert send_form(page, "SPIN", rpm="100").startswith("NAK not_armed (8)")


def test_estop_key_stops_a_spinning_drill(page: Any, gds: Gds) -> None:
    recover(page, gds)
    assert send_form(page, "ARM").startswith("ACK")
    assert send_form(page, "SPIN", rpm="120").startswith("ACK ack=acc")
    wait_for("the drill to spin up", lambda: drill_rpm(gds) > 100)
    page.locator("body").click()  # focus out of the form's field
    page.keyboard.press("Escape")
    page.wait_for_selector("#estop-status >> text=E-STOP: board FAULT")
    wait_for("the drill to stop", lambda: drill_rpm(gds) < 1.0, timeout=5)
    assert board_state(gds) == "FAULT"
    assert gds.board.query()["plants"]["drill"]["duty"] == 0
    page.wait_for_selector('#safety-state[data-state="FAULT"]')
    page.wait_for_selector('#event-log tr[data-kind="ev-fault"] >> text=name=estop')
    recover(page, gds)


def test_estop_on_space_and_button(page: Any, gds: Gds) -> None:
    recover(page, gds)
    page.locator("#estop").click()
    wait_for("FAULT after the button", lambda: board_state(gds) == "FAULT")
    recover(page, gds)
    page.locator("body").click()
    page.keyboard.press("Space")
    wait_for("FAULT after Space", lambda: board_state(gds) == "FAULT")
    recover(page, gds)
    # typing in a field: Space is a space, Esc is still the E-STOP
    field = page.locator('form[data-cmd="SPIN"] [name="rpm"]')
    field.fill("")
    field.type("1 2")
    assert field.input_value() == "1 2"
    assert board_state(gds) == "SAFE"
    field.press("Escape")
    wait_for("FAULT after Esc in a field", lambda: board_state(gds) == "FAULT")
    field.fill("")
    recover(page, gds)


def test_bad_argument_refused_in_page(page: Any, gds: Gds) -> None:
    recover(page, gds)
    sent_before = sum(1 for e in gds.station.events if e["type"] == "cmd")
    refused = send_form(page, "SPIN", rpm="abc")
    assert refused == 'not sent: SPIN: rpm must be an integer, got "abc"'
    assert send_form(page, "SPIN", rpm="9999").startswith(
        "not sent: SPIN: rpm 9999 is above the maximum"
    )
    assert (
        send_form(page, "SPIN", rpm="12.5") == 'not sent: SPIN: rpm must be an integer, got "12.5"'
    )
    assert send_form(page, "SPIN", rpm="-300").startswith(
        "not sent: SPIN: rpm -300 is below the minimum"
    )
    assert send_form(page, "SPIN", rpm="") == "not sent: SPIN: rpm is required"
    # nothing reached the server, let alone the board
    assert sum(1 for e in gds.station.events if e["type"] == "cmd") == sent_before
    # a parameter outside the board's range is refused the same way
    row = page.locator('#param-table tr[data-param="drill_rpm"]')
    row.locator("input").fill("100000")
    row.locator("button").click()
    assert "not sent: drill_rpm 100000 is above the maximum" in row.locator(".result").inner_text()
    assert sum(1 for e in gds.station.events if e["type"] == "cmd") == sent_before


def _post(
    gds: Gds, body: dict[str, Any], token: str | None, origin: str | None = None
) -> tuple[int, dict[str, Any]]:
    req = urllib.request.Request(
        gds.url + "api/command",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {token}"} if token else {}),
            **({"Origin": origin} if origin else {}),
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_no_token_is_refused(gds: Gds, browser_context: Any) -> None:
    state = board_state(gds)
    assert _post(gds, {"name": "ESTOP"}, None)[0] == 401
    assert _post(gds, {"name": "ESTOP"}, "wrong-token-999")[0] == 401
    # another site's page in the same browser is refused even with the token
    assert _post(gds, {"name": "ESTOP"}, TOKEN, origin="http://elsewhere.example")[0] == 403
    assert board_state(gds) == state  # the board never heard them
    # the server checks arguments too, for clients that are not the page
    code, reply = _post(gds, {"name": "SPIN", "args": {"rpm": 5000}}, TOKEN)
    assert code == 422 and reply["err"] == "out_of_range" and "rpm=5000" in reply["msg"]
    code, reply = _post(gds, {"name": "SPIN", "args": {"speed": 5}}, TOKEN)
    assert code == 422 and reply["err"] == "bad_arg"
    code, reply = _post(gds, {"name": "HELLO", "args": {}}, TOKEN)
    assert code == 422 and reply["err"] == "refused"
    code, reply = _post(gds, {"name": "PING", "args": {"n": 7}}, TOKEN)
    assert (code, reply["ok"]) == (200, True) and reply["f"]["n"] == "7"
    # a page without the token gets neither telemetry nor commands through
    pg = browser_context.new_page()
    pg.set_default_timeout(10000)
    try:
        pg.goto(gds.url)
        pg.wait_for_selector("#token-box:not([hidden])")
        pg.wait_for_selector('#link-state[data-state="denied"]')
        pg.keyboard.press("Escape")
        pg.wait_for_selector("#estop-status >> text=E-STOP NOT CONFIRMED")
        assert "token" in pg.inner_text("#estop-status")
        assert pg.evaluate("window.gds.lastTmAt") == 0
        assert board_state(gds) == state
        # with the token typed in, the same page connects
        pg.fill("#token-input", TOKEN)
        pg.click('#token-box button[type="submit"]')
        pg.wait_for_selector('#link-state[data-state="up"]')
    finally:
        pg.close()


def test_timeline_panel_follows_the_timeline_file(page: Any, gds: Gds) -> None:
    from lunasample.mission.params import load_params
    from lunasample.mission.runner import run_mission
    from lunasample.mission.sampling import SurrogateSampler
    from lunasample.report.timeline import write_timeline

    path = gds.station.timeline_path
    assert path is not None and not path.exists()
    page.wait_for_selector("#timeline-note >> text=cannot read")
    params = load_params()
    result = run_mission(params, SurrogateSampler(params.sampling.surrogate), seed=1)
    write_timeline(result, path.parent)
    rows = page.locator("#timeline-table tbody tr")
    wait_for("the timeline rows", lambda: rows.count() == len(result.phases), timeout=5)
    first = result.phases[0]
    row = page.locator(f'#timeline-table tr[data-phase="{first.name}"]')
    assert row.locator("td").nth(1).inner_text() == first.status
    note = page.inner_text("#timeline-note")
    assert ("success" if result.success else "mission failed") in note
