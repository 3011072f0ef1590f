"""The project layer: what concerns a perfkit project as a whole, above any single computation —
:mod:`~perfkit.project.check` (``perfkit check``: every parameters file of the project validated at
once, including the batch's run.yaml)."""
