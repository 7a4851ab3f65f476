"""Use cases. Each module owns one family; all take a :class:`Context`."""
