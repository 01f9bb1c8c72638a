"""The one error this package raises for anything that does not verify."""


class Invalid(ValueError):
    """A message, a proof or an archive does not verify. The text says what, in words
    an observer can act on (which ballot, which proof, which trustee)."""
