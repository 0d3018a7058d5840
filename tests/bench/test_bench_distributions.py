"""Key choosers of the OLTP workloads: zipfian shares, bounds and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from storagedb.bench.distributions import Zipfian, latest_offsets, uniform_indexes, zeta


def test_zeta_small_values():
    assert zeta(1, 0.99) == 1.0
    assert zeta(3, 0.5) == pytest.approx(1 + 2**-0.5 + 3**-0.5)


def test_zipfian_samples_stay_in_range():
    chooser = Zipfian(1000)
    items = chooser.sample(np.random.default_rng(1), 100_000)
    assert items.min() >= 0
    assert items.max() <= 999


@pytest.mark.parametrize("item", [0, 1])
def test_zipfian_head_matches_exact_share(item):
    # Items 0 and 1 are drawn exactly; 400,000 draws give a standard error
    # below 0.4% of the share, so 3% is far outside chance.
    chooser = Zipfian(100_000)
    items = chooser.sample(np.random.default_rng(2), 400_000)
    share = np.mean(items == item)
    assert share == pytest.approx(chooser.probability(item), rel=0.03)


def test_zipfian_tail_close_to_exact_share():
    chooser = Zipfian(100_000)
    items = chooser.sample(np.random.default_rng(3), 2_000_000)
    share = np.mean((items >= 100) & (items < 200))
    exact = sum(chooser.probability(i) for i in range(100, 200))
    assert share == pytest.approx(exact, rel=0.05)


def test_zipfian_is_skewed():
    items = Zipfian(10_000).sample(np.random.default_rng(4), 100_000)
    top_one_percent = np.mean(items < 100)
    assert top_one_percent > 0.5


def test_zipfian_same_seed_same_draws():
    chooser = Zipfian(5000)
    first = chooser.sample(np.random.default_rng(5), 1000)
    second = chooser.sample(np.random.default_rng(5), 1000)
    assert np.array_equal(first, second)


def test_scrambled_keeps_the_shares_of_items():
    chooser = Zipfian(1000)
    permutation = np.random.default_rng(6).permutation(1000)
    plain = chooser.sample(np.random.default_rng(7), 50_000)
    scrambled = chooser.scrambled(np.random.default_rng(7), 50_000, permutation)
    assert np.array_equal(scrambled, permutation[plain])
    assert np.bincount(scrambled, minlength=1000).max() == np.bincount(plain, minlength=1000).max()


def test_scrambled_rejects_wrong_permutation_length():
    with pytest.raises(ValueError, match="permutation has 10 entries"):
        Zipfian(1000).scrambled(np.random.default_rng(8), 5, np.arange(10))


@pytest.mark.parametrize("n, theta", [(0, 0.99), (10, 1.0), (10, 0.0)])
def test_zipfian_rejects_bad_parameters(n, theta):
    with pytest.raises(ValueError):
        Zipfian(n, theta)


def test_one_item_always_drawn():
    assert set(Zipfian(1).sample(np.random.default_rng(9), 100).tolist()) == {0}


def test_uniform_indexes_cover_range():
    draws = uniform_indexes(np.random.default_rng(10), 10, 10_000)
    assert set(draws.tolist()) == set(range(10))


def test_latest_offsets_favour_newest():
    offsets = latest_offsets(np.random.default_rng(11), 10_000, 100_000)
    assert np.mean(offsets == 0) > np.mean(offsets == 10)
    assert offsets.min() >= 0
