"""Presence from awareness (contract section 6): `visible`, and `activeAt` for hidden tabs, on
a hand-driven clock."""

from __future__ import annotations

from typing import Any

import pytest

from mapper.core.clock import ManualClock
from mapper.presence.tracker import PresenceTracker

COLD_S, IDLE_S = 60.0, 1800.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def tracker(clock: ManualClock) -> PresenceTracker:
    return PresenceTracker(clock, COLD_S, idle_after_s=IDLE_S)


def see(tracker: PresenceTracker, connection: str, **state: Any) -> None:
    tracker.seen(
        connection, user_id="scout", room_key="chain", chain=True, can_edit=True, states=[state]
    )


def ms(clock: ManualClock, seconds_ago: float) -> float:
    return (clock.now() - seconds_ago) * 1000


def test_a_hidden_tab_counts_while_it_was_active_lately(
    tracker: PresenceTracker, clock: ManualClock
) -> None:
    see(tracker, "tab", visible=False, activeAt=ms(clock, 60))
    assert tracker.is_present("scout")
    assert tracker.chain_rooms("scout") == {"chain": True}, "its jumps are mapped too"
    clock._now += IDLE_S - 60 - 1
    see(tracker, "tab", visible=False, activeAt=ms(clock, IDLE_S - 1))  # a renewal
    assert tracker.is_present("scout")
    clock._now += 2
    tracker.sweep()
    assert not tracker.is_present("scout")


@pytest.mark.parametrize("active_at", [None, "now", True, float("inf"), float("nan")])
def test_a_hidden_tab_without_a_readable_active_at_does_not_count(
    tracker: PresenceTracker, active_at: Any
) -> None:
    see(tracker, "tab", visible=False, activeAt=active_at)
    assert not tracker.is_present("scout")


def test_an_active_at_in_the_future_counts_as_when_it_was_heard(
    tracker: PresenceTracker, clock: ManualClock
) -> None:
    """A page whose clock runs an hour fast: its hidden tab still goes idle."""
    ahead = ms(clock, -3600)
    see(tracker, "tab", visible=False, activeAt=ahead)
    for _ in range(int(IDLE_S // 15)):
        clock._now += 15
        see(tracker, "tab", visible=False, activeAt=ahead)  # the renewals repeat it
    clock._now += 15
    see(tracker, "tab", visible=False, activeAt=ahead)
    tracker.sweep()
    assert not tracker.is_present("scout")
    see(tracker, "tab", visible=False, activeAt=ahead + 60_000)  # new input: counts again
    assert tracker.is_present("scout")


def test_silent_and_closed_tabs_stop_counting_whatever_their_active_at(
    tracker: PresenceTracker, clock: ManualClock
) -> None:
    see(tracker, "silent", visible=False, activeAt=ms(clock, 0))
    clock._now += COLD_S + 1
    assert not tracker.is_present("scout"), "no renewal: cold"
    see(tracker, "closed", visible=False, activeAt=ms(clock, 0))
    assert tracker.is_present("scout")
    tracker.left("closed")
    assert not tracker.is_present("scout")


def test_listeners_hear_a_hidden_tab_coming_back_to_life(
    tracker: PresenceTracker, clock: ManualClock
) -> None:
    heard: list[str] = []
    tracker.listen(heard.append)
    see(tracker, "tab", visible=False, activeAt=ms(clock, 2 * IDLE_S))
    assert not tracker.is_present("scout")
    heard.clear()
    see(tracker, "tab", visible=False, activeAt=ms(clock, 0))  # input in the hidden tab
    assert heard == ["scout"] and tracker.is_present("scout")


async def test_an_absent_tab_renewing_its_state_tells_nobody(
    tracker: PresenceTracker, clock: ManualClock
) -> None:
    """A hidden, idle tab renews its awareness every 15 s: nothing changed, so no listener runs
    (each would look at every connection of the user)."""
    heard: list[str] = []
    tracker.listen(heard.append)
    see(tracker, "idle tab", visible=False, activeAt=ms(clock, 2 * IDLE_S))
    see(tracker, "other idle tab", visible=False)
    assert heard == ["scout", "scout"]  # two connections opened
    for _ in range(3):
        await clock.advance(15)
        see(tracker, "idle tab", visible=False, activeAt=ms(clock, 2 * IDLE_S))
        see(tracker, "other idle tab", visible=False)
    assert heard == ["scout", "scout"] and not tracker.is_present("scout")
    see(tracker, "other idle tab", visible=True)
    assert heard[-1] == "scout" and len(heard) == 3 and tracker.is_present("scout")
