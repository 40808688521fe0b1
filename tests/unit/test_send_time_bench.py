"""bench/send_time.py's model, seeded and small: Omni's shrunk estimate reacts more than
sending at once, a fixed hour and the Iterable-style rule, and less than the oracle; and
it is the shrinkage that helps the customers with little history."""

from __future__ import annotations

from bench.send_time import run


def test_omni_beats_the_simple_policies_and_stays_under_the_oracle() -> None:
    results = run(1500, seed=11)
    rate = {name: t.reacted / t.total for name, t in results.items()}
    assert rate["Omni"] > rate["at once"] + 0.02
    assert rate["Omni"] > rate["fixed 10:00"]
    assert rate["Omni"] > rate["Iterable-style"]
    assert rate["oracle"] > rate["Omni"]
    # Iterable-style only moves customers with five reactions or more; for the others it is
    # "at once". The shop's profile and the shrinkage are what help them.
    few = {name: t.by_kind["habit, fewer"] for name, t in results.items()}
    assert few["Iterable-style"] == few["at once"]
    assert few["Omni"][0] > few["at once"][0]
    # Holding costs time: the mean hours to a reaction grow with the hold.
    mean = {n: sum(t.delays) / len(t.delays) for n, t in results.items()}
    assert mean["at once"] < mean["Omni"] < mean["fixed 10:00"]
