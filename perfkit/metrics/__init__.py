"""The metrics layer: indicators, their task lists and statistical tables, from the store.

- :mod:`~perfkit.metrics.catalog` — indicators.yaml, measures/*.sql and tasks.yaml as typed models;
- :mod:`~perfkit.metrics.effective` — the 有效户 definition of the catalog's settings;
- :mod:`~perfkit.metrics.months`, :mod:`~perfkit.metrics.entities` — the months asked for, and who
  is reported (the company, branches, employees employed in a month);
- :mod:`~perfkit.metrics.measures` — the additive measures per employee × month (SQL, cached);
- :mod:`~perfkit.metrics.tasks` — task lists (任务列表), masked;
- :mod:`~perfkit.metrics.indicators` — Σnumerator / Σdenominator at any grain (``perfkit.indicators``);
- :mod:`~perfkit.metrics.targets` — the targets of scorecard.yaml;
- :mod:`~perfkit.metrics.tables` — the statistical tables (查看报表).

It imports only the data layer and the shared helpers.
"""
