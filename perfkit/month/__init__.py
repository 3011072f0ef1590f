"""The month layer: a month's results computed once, kept, and frozen when published.

- :mod:`~perfkit.month.frames` — the registry of frames a month's reports need, and producing them;
- :mod:`~perfkit.month.snapshot` — a built snapshot folder, read by slices;
- :mod:`~perfkit.month.build` — ``perfkit snapshot``: build (or reuse) the snapshot of a month;
- :mod:`~perfkit.month.published` and :mod:`~perfkit.month.publish` — ``perfkit publish``: versions
  of a month frozen in the store, with what each revision changed;
- :mod:`~perfkit.month.sources` — where a report reads from (store, snapshot or published version).

It imports the appraisal, metrics and data layers and the shared helpers, never a report.
"""
