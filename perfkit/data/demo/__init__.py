"""The synthetic demo store (``perfkit demo``): :func:`generate` writes every table of
:mod:`perfkit.data.schema` from a few sizes and a seed (see :mod:`perfkit.data.demo.generator`)."""

from perfkit.data.demo.generator import generate

__all__ = ["generate"]
