"""perfkit's version: one place, read by the package, the wheel's metadata (pyproject.toml) and
``perfkit.yaml`` (the version a project was made with)."""

__version__ = "0.2.0"
