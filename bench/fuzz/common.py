"""What every fuzz target needs: reading structured choices out of the fuzzer's bytes,
and cutting a byte stream into the pieces a socket might deliver."""

from __future__ import annotations

import itertools
import random


class Input:
    """The fuzzer's bytes read as a few choices followed by a payload (libFuzzer's
    FuzzedDataProvider, reduced to what the targets use, so the random engine needs no
    atheris). Reading past the end gives zeros: every input is valid."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        if self.pos >= len(self.data):
            return 0
        value = self.data[self.pos]
        self.pos += 1
        return value

    def choice(self, n: int) -> int:
        """A number in range(n), from one byte."""
        return self.byte() % n

    def take(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def rest(self) -> bytes:
        out = self.data[self.pos:]
        self.pos = len(self.data)
        return out

    def more(self) -> bool:
        return self.pos < len(self.data)


def cut(data: bytes, seed: int, max_pieces: int = 12) -> list[bytes]:
    """``data`` cut at up to ``max_pieces - 1`` places chosen by ``seed`` (0: whole)."""
    if seed == 0 or len(data) < 2:
        return [data] if data else []
    rng = random.Random(seed * 7919 + len(data))
    count = rng.randint(1, min(max_pieces - 1, len(data) - 1))
    points = sorted(rng.sample(range(1, len(data)), count))
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def bytewise(data: bytes) -> list[bytes]:
    """One byte per read: the worst segmentation a socket can produce."""
    return [data[i:i + 1] for i in range(len(data))]


#: Inputs at most this long are also fed one byte at a time (longer ones only whole and
#: cut at random places, to keep thousands of runs per second).
BYTEWISE_MAX = 512
