import pytest

from benchpkg import fib, primes, word_counts


def test_primes():
    assert len(primes(200_000)) == 17_984


@pytest.mark.parametrize("n,expected", [(18, 2584), (20, 6765), (22, 17711)])
def test_fib(n, expected):
    assert fib(n) == expected


def test_word_counts():
    counts = word_counts("the quick brown fox jumps over the lazy dog " * 20_000)
    assert counts["the"] == 40_000 and len(counts) == 8
