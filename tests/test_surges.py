"""The complaint-surge detector: one alert per episode, against each scope's own baseline."""

from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from streams.core.surges import (
    MAX_TERMS_PER_BUCKET,
    Surge,
    SurgeConfig,
    check,
    new_state,
    observe,
    terms,
)

CFG = SurgeConfig()
HOUR = 3600
T0 = 1_699_999_200.0  # on an hour boundary, so hourly slices line up with the hours below


def spread(hour: int, n: int, text: str = "delivery late") -> list[tuple[float, str]]:
    """n complaints evenly spaced over the given hour after T0."""
    return [(T0 + hour * HOUR + i * HOUR / n, text) for i in range(n)]


def feed(events: list[tuple[float, str]], state: dict | None = None, config: SurgeConfig = CFG) -> dict:
    """Observe without checking: history the detector should only use as a baseline."""
    state = new_state() if state is None else state
    for at, text in sorted(events):
        state = observe(state, at, text, config)
    return state


def simulate(events, until: float, state: dict | None = None, config: SurgeConfig = CFG, start: float = T0):
    """Observe in time order and check after every complaint and every 5 minutes, as the worker would."""
    state = new_state() if state is None else state
    pending, surges, clock = sorted(events), [], start
    while clock <= until:
        while pending and pending[0][0] <= clock:
            at, text = pending.pop(0)
            state = observe(state, at, text, config)
            state, surge = check(state, at, config)
            surges += [(at, surge)] if surge else []
        state, surge = check(state, clock, config)
        surges += [(clock, surge)] if surge else []
        clock += 300
    return state, surges


def alternating_day(low: int, high: int, hours: int = 24) -> list[tuple[float, str]]:
    return [event for hour in range(hours) for event in spread(hour, low if hour % 2 == 0 else high)]


def test_steady_baseline_then_forty_in_an_hour_fires_once_with_the_hand_computed_statistics():
    state = feed(alternating_day(2, 4) + spread(24, 40, "cannot login"))
    # Window [24h, 25h) holds the 40; baseline hours 0..23 alternate 2, 4: mean 3, population sd 1;
    # threshold max(10, 3 + 3 * 1) = 10.
    state, surge = check(state, T0 + 25 * HOUR - 1, CFG)
    assert surge is not None
    assert (surge.count, surge.baseline_mean, surge.baseline_sd, surge.threshold) == (40, 3.0, 1.0, 10.0)
    assert (surge.window_s, surge.baseline_s) == (3600, 86400)
    for minutes in range(5, 60, 5):
        state, again = check(state, T0 + 25 * HOUR - 1 + minutes * 60, CFG)
        assert again is None


def test_checked_after_every_complaint_fires_once_as_soon_as_the_window_passes_min_count():
    events = alternating_day(2, 4) + spread(24, 40, "cannot login")
    _, surges = simulate(events, until=T0 + 26 * HOUR)
    # At 24h+630 s the window starts at 23h+900 s: hour 23's complaints at 900, 1800, 2700 s
    # plus the burst's first 8 make 11, the first count above min_count (the threshold here).
    assert [(at - T0, surge.count, surge.threshold) for at, surge in surges] == [(24 * HOUR + 630, 11, 10.0)]


def test_noisy_steady_level_never_fires_but_one_above_its_threshold_does():
    history = alternating_day(8, 12)
    later = [event for event in alternating_day(8, 12, hours=72) if event[0] >= T0 + 24 * HOUR]
    _, surges = simulate(later, until=T0 + 72 * HOUR, state=feed(history), start=T0 + 24 * HOUR)
    assert surges == []
    # Hourly 8, 12: mean 10, sd 2, threshold 10 + 3 * 2 = 16; 16 stays under, 17 fires.
    assert check(feed(history + spread(24, 16)), T0 + 25 * HOUR - 1, CFG)[1] is None
    surge = check(feed(history + spread(24, 17)), T0 + 25 * HOUR - 1, CFG)[1]
    assert surge is not None and (surge.count, surge.baseline_mean, surge.baseline_sd, surge.threshold) == (17, 10.0, 2.0, 16.0)


def test_fewer_than_min_count_never_fires_even_from_an_empty_baseline():
    ten = spread(0, 10)
    state, surges = simulate(ten, until=T0 + HOUR - 1)
    assert surges == []
    state, surge = check(observe(state, T0 + HOUR - 1, "delivery late", CFG), T0 + HOUR - 1, CFG)
    assert surge is not None and (surge.count, surge.baseline_mean, surge.baseline_sd, surge.threshold) == (11, 0.0, 0.0, 10.0)


def test_sd_is_floored_so_a_perfectly_flat_baseline_does_not_turn_a_blip_into_a_surge():
    config = SurgeConfig(min_count=0)
    flat = [event for hour in range(24) for event in spread(hour, 5)]
    # Mean 5, sd 0: without the floor the threshold would be 5 and 6 would fire; with it, 5 + 3 * 1 = 8.
    assert check(feed(flat + spread(24, 8), config=config), T0 + 25 * HOUR - 1, config)[1] is None
    surge = check(feed(flat + spread(24, 9), config=config), T0 + 25 * HOUR - 1, config)[1]
    assert surge is not None and (surge.baseline_sd, surge.threshold) == (0.0, 8.0)


@pytest.mark.parametrize(("cooldown_s", "expected"), [(0, 2), (HOUR, 2), (6 * HOUR, 1)])
def test_one_alert_per_episode_and_a_new_episode_only_after_the_rate_drops_and_cooldown_passes(cooldown_s, expected):
    config = SurgeConfig(cooldown_s=cooldown_s)
    base = [event for hour in range(24) for event in spread(hour, 3)]
    high = spread(24, 40, "cannot login") + spread(25, 40, "cannot login")
    quiet = spread(26, 3) + spread(27, 3)
    burst = spread(28, 100, "refund stuck") + spread(29, 3)
    state, surges = simulate(base + high + quiet, until=T0 + 28 * HOUR - 1, config=config)
    assert len(surges) == 1 and surges[0][0] < T0 + 25 * HOUR
    assert state["episode_open"] is False and state["fired_at"] == surges[0][0]
    state, later = simulate(burst, until=T0 + 30 * HOUR, state=state, config=config, start=T0 + 28 * HOUR)
    assert len(surges + later) == expected
    assert all(T0 + 28 * HOUR <= at < T0 + 29 * HOUR and surge.top_terms[0][0] == "refund" for at, surge in later)


def test_state_is_plain_json_and_the_detector_works_on_the_round_tripped_state():
    state, _ = simulate(alternating_day(2, 4), until=T0 + 24 * HOUR - 1)
    state, surge = check(state, T0 + 24 * HOUR - 1, CFG)
    assert surge is None
    round_tripped = json.loads(json.dumps(state, allow_nan=False))
    assert round_tripped == state
    burst = spread(24, 40, "cannot login")
    results = [check(feed(burst, s), T0 + 25 * HOUR - 1, CFG) for s in (state, round_tripped)]
    assert results[0][1] is not None and results[0][1].count == 40
    assert results[0] == results[1]
    assert json.loads(json.dumps(results[1][0])) == results[1][0]


def test_observe_and_check_leave_their_input_alone():
    state = feed(spread(0, 12, "login broken"))
    before = copy.deepcopy(state)
    observe(state, T0 + 30 * 60, "login page down", CFG)
    observe(state, T0 + 10 * 24 * HOUR, "much later", CFG)
    _, surge = check(state, T0 + HOUR - 1, CFG)
    assert surge is not None
    assert state == before


def test_old_buckets_are_pruned_so_a_week_stays_bounded():
    state, _ = simulate(alternating_day(10, 14, hours=7 * 24), until=T0 + 7 * 24 * HOUR, config=CFG)
    assert len(state["counts"]) <= (86400 + 3600) // 300 == 300
    assert min(int(key) for key in state["counts"]) >= T0 + 7 * 24 * HOUR - 86400 - 3600
    assert len(state["terms"]) <= 3600 // 300
    assert len(state["samples"]) == 3 * 3
    assert observe(state, T0, "a week too late", CFG)["counts"] == state["counts"]


def test_terms_per_bucket_are_capped_keeping_the_common_ones_and_the_newest():
    state = feed([(T0 + i, f"login problem{i:03d}") for i in range(250)])
    (bag,) = state["terms"].values()
    assert len(bag) == MAX_TERMS_PER_BUCKET
    assert bag["login"] == 250 and "problem249" in bag and "problem000" not in bag


def test_terms_drop_stopwords_short_and_numeric_tokens_in_several_languages():
    assert terms("The login is broken and the LOGIN page fails with error 500 __ ok") == ["login", "broken", "page", "fails", "error"]
    assert terms("Die App ist nicht erreichbar und der Login geht nicht") == ["app", "erreichbar", "login", "geht"]
    assert terms("Le paiement est refusé pour les clients") == ["paiement", "refusé", "clients"]
    assert terms("Η ΕΦΑΡΜΟΓΗ δεν λειτουργεί και ΤΟΥΣ πελάτες") == ["εφαρμογη", "λειτουργεί", "πελάτες"]
    assert terms("אני לא מצליח להתחבר, השירות למטה") == ["מצליח", "להתחבר", "השירות", "למטה"]
    assert terms("cafe\u0301 froid") == ["café", "froid"]


def test_top_terms_come_from_the_surge_window_and_count_multilingual_posts():
    burst = (
        spread(24, 20, "cannot login to the app")
        + [(at + 45, "Το login δεν λειτουργεί") for at, _ in spread(24, 10)]
        + [(at + 90, "אני לא יכול לעשות login") for at, _ in spread(24, 10)]
    )
    _, surge = check(feed(alternating_day(2, 4) + burst), T0 + 25 * HOUR - 1, CFG)
    assert surge is not None and surge.count == 40
    assert surge.top_terms == [("login", 40), ("app", 20), ("cannot", 20), ("λειτουργεί", 10), ("יכול", 10)]


def test_samples_are_the_most_recent_and_truncated():
    state = feed([(T0 + i * 60, f"complaint number {i}") for i in range(12)])
    assert [text for _, text in state["samples"]] == [f"complaint number {i}" for i in range(3, 12)]
    _, surge = check(state, T0 + HOUR - 1, CFG)
    assert surge is not None and surge.samples == ["complaint number 11", "complaint number 10", "complaint number 9"]
    assert observe(new_state(), T0, "é" * 400, CFG)["samples"] == [[T0, "é" * 280]]
    config = SurgeConfig(min_count=0, samples=5)
    fresh = [(T0 + 5 * HOUR + i * 60, f"new trouble {i}") for i in range(4)]
    # Baseline: one slice of 5 among 24, mean 5/24, sd ~0.998, threshold ~3.2; the 4 recent fire.
    _, surge = check(feed(spread(0, 5, "old news") + fresh, config=config), T0 + 6 * HOUR - 1, config)
    assert surge is not None and surge.samples == [f"new trouble {i}" for i in (3, 2, 1, 0)]
    assert observe(new_state(), T0, "x", SurgeConfig(samples=0))["samples"] == []


def test_summary_reads_as_one_line_for_a_support_lead():
    surge = Surge(42, 3.14, 1.2, 10.0, 3600, 86400, [("outage", 9), ("login", 5), ("refund", 2)], [])
    assert surge.summary("brand:acme") == (
        "complaint surge (brand:acme): 42 in the last hour vs 3.1 ± 1.2 per hour over the previous day; "
        "top terms: outage, login, refund"
    )
    quiet = Surge(12, 0.5, 0.7, 10.0, 1800, 2 * 86400, [], [])
    assert quiet.summary("all") == "complaint surge (all): 12 in the last 30 minutes vs 0.5 ± 0.7 per 30 minutes over the previous 2 days"


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"window_s": 1000}, "window_s", "multiple of bucket_s"),
        ({"baseline_s": 86500}, "baseline_s", "multiple of bucket_s"),
        ({"baseline_s": 3600}, "baseline_s", "greater than window_s"),
        ({"bucket_s": 0}, "bucket_s", "greater than 0"),
        ({"k": -1.0}, "k", "greater than 0"),
        ({"min_count": -1}, "min_count", "greater than or equal to 0"),
        ({"surprise": 1}, "surprise", "Extra inputs"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(kwargs, field, words):
    with pytest.raises(ValidationError) as info:
        SurgeConfig(**kwargs)
    (error,) = info.value.errors()
    assert error["loc"] == (field,) and words in error["msg"]


def test_config_is_frozen_and_accepts_a_consistent_custom_setup():
    config = SurgeConfig(bucket_s=60, window_s=600, baseline_s=6000)
    assert (config.window_s, config.baseline_s) == (600, 6000)
    with pytest.raises(ValidationError):
        config.k = 2.0
