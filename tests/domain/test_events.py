"""The rules of notification events (`gateway/domain/events.py`): which facts are news against the
customer's markers, what the markers become, and the CRM keys they are posted under.

Properties over any history of snapshots: a customer kept in markers is told of each new fact
exactly once and of nothing they saw at their first sight; markers lost are made up from the CRM's
feed without missing an event; a kind that could not be read changes nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.domain.events import (
    LATE_DAYS,
    LOOKBACK_DAYS,
    EventKind,
    Fact,
    Markers,
    Notice,
    compare,
    event_key,
)

TODAY = date(2026, 11, 24)
CUSTOMER = "C0001003"
CRM_KEY = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
NOTICE = Notice("Titre", "Message.", "/mes-documents")


def fact(kind: EventKind, object_id: str, version: str = "", days_ago: int = 0) -> Fact:
    key = event_key(CUSTOMER, kind, object_id, version)
    return Fact(kind, key, TODAY - timedelta(days=days_ago), True, NOTICE)


def snapshot(*facts: Fact) -> dict[EventKind, list[Fact] | None]:
    found: dict[EventKind, list[Fact] | None] = {kind: [] for kind in EventKind}
    for item in facts:
        listed = found[item.kind]
        assert listed is not None
        listed.append(item)
    return found


def identity_fact(kind: EventKind, n: int, version: int) -> Fact:
    """One object at one version: its day and whether it is news follow from what it is."""
    days_ago = (n * 7 + version * 3 + list(EventKind).index(kind)) % (LOOKBACK_DAYS + 10)
    key = event_key(CUSTOMER, kind, f"O{n}", str(version))
    return Fact(kind, key, TODAY - timedelta(days=days_ago), (n + version) % 4 != 0, NOTICE)


facts_strategy = st.lists(
    st.builds(
        identity_fact,
        st.sampled_from(list(EventKind)),
        st.integers(0, 12),
        st.integers(0, 2),
    ),
    max_size=25,
)


def in_window(item: Fact) -> bool:
    return item.on >= TODAY - timedelta(days=LOOKBACK_DAYS)


# ---- keys ----------------------------------------------------------------------------------------
def test_an_event_key_is_the_same_everywhere_and_fits_the_crm_pattern() -> None:
    key = event_key(CUSTOMER, EventKind.DEMANDE, "D-2026-000303", "IN_PROGRESS@2026-11-24")
    assert key == event_key(CUSTOMER, EventKind.DEMANDE, "D-2026-000303", "IN_PROGRESS@2026-11-24")
    assert CRM_KEY.fullmatch(key)
    others = {
        event_key("C0001001", EventKind.DEMANDE, "D-2026-000303", "IN_PROGRESS@2026-11-24"),
        event_key(CUSTOMER, EventKind.DOCUMENT, "D-2026-000303", "IN_PROGRESS@2026-11-24"),
        event_key(CUSTOMER, EventKind.DEMANDE, "D-2026-000304", "IN_PROGRESS@2026-11-24"),
        event_key(CUSTOMER, EventKind.DEMANDE, "D-2026-000303", "DONE@2026-11-24"),
    }
    assert key not in others and len(others) == 4


# ---- examples ------------------------------------------------------------------------------------
def test_a_first_sight_posts_nothing_and_marks_what_is_there() -> None:
    old = [fact(EventKind.PAYMENT, f"R{n}", days_ago=n) for n in range(5)]
    found = compare(None, snapshot(*old), TODAY)
    assert found.events == () and found.first_sight
    assert found.markers is not None
    assert found.markers.seen[EventKind.PAYMENT] == {f.key for f in old}


def test_a_new_payment_is_news_once() -> None:
    first = compare(None, snapshot(fact(EventKind.PAYMENT, "R1")), TODAY).markers
    paid = fact(EventKind.PAYMENT, "R2")
    found = compare(first, snapshot(fact(EventKind.PAYMENT, "R1"), paid), TODAY)
    assert found.events == (paid,)
    again = compare(found.markers, snapshot(fact(EventKind.PAYMENT, "R1"), paid), TODAY)
    assert again.events == ()


def test_a_demande_just_created_is_no_news_until_it_moves() -> None:
    markers = compare(None, snapshot(), TODAY).markers
    created = Fact(EventKind.DEMANDE, "k-created", TODAY, False, NOTICE)
    found = compare(markers, snapshot(created), TODAY)
    assert found.events == ()
    moved = Fact(EventKind.DEMANDE, "k-moved", TODAY, True, NOTICE)
    assert compare(found.markers, snapshot(moved), TODAY).events == (moved,)


def test_a_kind_not_read_keeps_its_markers_and_tells_nothing() -> None:
    seen = fact(EventKind.DOCUMENT, "DOC1")
    markers = compare(None, snapshot(seen), TODAY).markers
    new_payment = fact(EventKind.PAYMENT, "R9")
    partial = {**snapshot(new_payment), EventKind.DOCUMENT: None}
    found = compare(markers, partial, TODAY)
    assert found.events == (new_payment,)
    assert found.markers is not None
    assert found.markers.seen[EventKind.DOCUMENT] == {seen.key}


def test_a_first_sight_read_partly_keeps_no_markers() -> None:
    found = compare(None, {**snapshot(), EventKind.DOCUMENT: None}, TODAY)
    assert found.events == () and found.markers is None


def test_an_event_whose_post_failed_is_posted_at_the_next_look() -> None:
    markers = compare(None, snapshot(), TODAY).markers
    paid = fact(EventKind.PAYMENT, "R2")
    found = compare(markers, snapshot(paid), TODAY)
    after = found.kept({paid.key})
    assert compare(after, snapshot(paid), TODAY).events == (paid,)


def test_lost_markers_are_made_up_from_the_crm_feed() -> None:
    told = fact(EventKind.PAYMENT, "R1", days_ago=2)
    untold = fact(EventKind.DOCUMENT, "DOC2", days_ago=1)
    posted = {told.key: TODAY - timedelta(days=2), "gw-sec-123": TODAY - timedelta(days=30)}
    found = compare(None, snapshot(told, untold), TODAY, posted=posted)
    assert found.events == (untold,) and not found.first_sight


def test_lost_markers_leave_what_was_there_before_the_first_thing_told() -> None:
    """Facts dated well before the oldest event the gateway told were there at the first sight."""
    first_sight = fact(EventKind.DOCUMENT, "DOC0", days_ago=20)
    told = fact(EventKind.PAYMENT, "R1", days_ago=10)
    late = fact(EventKind.PAYMENT, "R0", days_ago=10 + LATE_DAYS)  # shown late by a batch
    untold = fact(EventKind.PAYMENT, "R2", days_ago=1)
    posted = {told.key: TODAY - timedelta(days=9)}
    found = compare(None, snapshot(first_sight, told, late, untold), TODAY, posted=posted)
    assert found.events == (late, untold)


def test_facts_older_than_the_window_are_never_news() -> None:
    markers = compare(None, snapshot(), TODAY).markers
    old = fact(EventKind.DOCUMENT, "DOC0", days_ago=LOOKBACK_DAYS + 1)
    found = compare(markers, snapshot(old), TODAY)
    assert found.events == ()
    assert found.markers is not None and found.markers.seen[EventKind.DOCUMENT] == frozenset()


def test_markers_survive_the_store_and_a_broken_record_reads_as_lost() -> None:
    markers = compare(None, snapshot(fact(EventKind.PAYMENT, "R1")), TODAY).markers
    assert markers is not None
    assert Markers.of(markers.record()) == markers
    assert Markers.of({"since": "2026-11-24"}) is None
    assert Markers.of({"since": "yesterday", "seen": {}}) is None


# ---- properties ----------------------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(facts_strategy, min_size=1, max_size=6))
def test_kept_markers_tell_each_new_fact_once_and_nothing_of_the_first_sight(
    history: list[list[Fact]],
) -> None:
    """Snapshots only grow (what was there stays there): each newsworthy fact that appears after
    the first sight, within the window, is posted exactly once; nothing there at first sight is."""
    shown: list[Fact] = []
    posted: list[str] = []
    markers: Markers | None = None
    for step, new in enumerate(history):
        shown = shown + new
        found = compare(markers, snapshot(*shown), TODAY)
        if step == 0:
            assert found.events == ()
        posted += [f.key for f in found.events]
        markers = found.markers
    first = {f.key for f in history[0]}
    later_news = {f.key for f in shown if f.news and in_window(f) and f.key not in first}
    assert len(posted) == len(set(posted))
    assert set(posted) == later_news


def dated_fact(kind: EventKind, n: int, days_ago: int, news: bool) -> Fact:
    key = event_key(CUSTOMER, kind, f"O{n}-{days_ago}", "")
    return Fact(kind, key, TODAY - timedelta(days=days_ago), news, NOTICE)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, LOOKBACK_DAYS + 5),
    st.lists(st.tuples(st.sampled_from(list(EventKind)), st.integers(0, 9), st.booleans())),
    st.lists(st.tuples(st.sampled_from(list(EventKind)), st.integers(0, 9), st.booleans())),
    st.data(),
)
def test_lost_markers_miss_no_event_and_repeat_only_under_the_same_key(
    first_sight_ago: int,
    there: list[tuple[EventKind, int, bool]],
    arriving: list[tuple[EventKind, int, bool]],
    data: st.DataObject,
) -> None:
    """The customer was first seen `first_sight_ago` days ago; facts arrive after it (dated at
    most `LATE_DAYS` before they show); the last posts fail, then the markers are lost: every
    newsworthy fact of the window the CRM does not list is posted, none it lists is posted again,
    and nothing dated more than `2 * LATE_DAYS` before the first sight is told."""
    draw = data.draw
    before = [
        dated_fact(kind, n, draw(st.integers(first_sight_ago, first_sight_ago + 40)), news)
        for kind, n, news in there
    ]
    after = [
        dated_fact(kind, 10 + n, draw(st.integers(0, first_sight_ago + LATE_DAYS)), news)
        for kind, n, news in arriving
    ]
    markers = compare(None, snapshot(*before), TODAY).markers
    found = compare(markers, snapshot(*before, *after), TODAY)
    # posted oldest first until one fails: the rest waits for the next look
    cut = draw(st.integers(1, len(found.events))) if found.events else 0
    listed = {f.key: TODAY for f in found.events[:cut]}
    unposted = {f.key for f in found.events[cut:]}
    if not listed:
        return
    lost = compare(None, snapshot(*before, *after), TODAY, posted=listed)
    again = {f.key for f in lost.events}
    assert unposted <= again
    assert not (again & set(listed))
    assert again <= {f.key for f in (*before, *after) if f.news and in_window(f)}
    long_before = TODAY - timedelta(days=first_sight_ago + 2 * LATE_DAYS)
    assert all(f.on >= long_before for f in lost.events)
