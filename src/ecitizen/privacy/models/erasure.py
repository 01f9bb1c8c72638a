"""Models of erasure requests and retention runs."""

__all__: list[str] = []
