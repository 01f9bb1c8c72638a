"""Models of a resident's data exports."""

__all__: list[str] = []
