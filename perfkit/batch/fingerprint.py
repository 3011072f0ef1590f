"""A job's input fingerprint: what one report depends on, hashed, so a rerun can skip what has not
changed.

It is the sha256 of: the role notebook's bytes, every parameters file (except ``run.yaml``, which
only says *what* to render; :func:`perfkit.digest.parameter_files`), the store's content relevant to
the month (:func:`perfkit.data.store.store_fingerprint`), the perfkit version
(:func:`perfkit.digest.perfkit_fingerprint`), and the job's own papermill parameters (without the
store, parameters and snapshot paths — their *contents* are already covered).
"""

from __future__ import annotations

from perfkit.digest import sha256_json


def job_fingerprint(
    *,
    notebook_sha: str,
    params_files: dict[str, str],
    store_sha: str,
    version: str,
    parameters: dict[str, object],
) -> str:
    """The combined input fingerprint of one job (see the module docstring)."""
    own = {k: v for k, v in parameters.items() if k not in ("db", "params", "snapshot")}
    return sha256_json(
        {
            "notebook": notebook_sha,
            "parameters_files": params_files,
            "store": store_sha,
            "perfkit": version,
            "parameters": own,
        }
    )
