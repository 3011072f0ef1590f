"""The data layer: the CRM store and what fills it.

- :mod:`~perfkit.data.schema` — every table and column (types, units, rules), one definition;
- :mod:`~perfkit.data.store` — the DuckDB file: create, open (version-checked), checksums and the
  month fingerprint of its contents;
- :mod:`~perfkit.data.readers`, :mod:`~perfkit.data.mapping`, :mod:`~perfkit.data.importer` —
  ``perfkit import``: CSV / Excel / Parquet files, source-system mappings, validation and loading;
- :mod:`perfkit.data.demo` — ``perfkit demo``, the synthetic store.

It imports nothing of perfkit but the shared helpers (errors, files, digest).
"""
