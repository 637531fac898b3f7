"""The `advantage` command line (see `advantage --help`)."""

__all__: list[str] = []
