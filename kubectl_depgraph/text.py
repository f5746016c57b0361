"""Wording shared by every stage."""


def counted(n, noun, plural=None):
    """`1 object`, `2 objects`."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
