"""CPU-bound work with no I/O, so the suite's time is interpreter time, not the host's."""


def primes(limit: int) -> list[int]:
    sieve = bytearray([1]) * (limit + 1)
    sieve[:2] = b"\0\0"
    for n in range(2, int(limit ** 0.5) + 1):
        if sieve[n]:
            sieve[n * n::n] = bytearray(len(range(n * n, limit + 1, n)))
    return [n for n, flag in enumerate(sieve) if flag]


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def word_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts
