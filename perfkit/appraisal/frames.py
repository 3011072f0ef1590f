"""The appraisal frames the reports show, by name: ``f(store, month, params) -> DataFrame`` covering
every entity of its level at once (the report views keep the rows a role may see).

=====================  =========  ==========================================================
frame                  level      function
=====================  =========  ==========================================================
``ability``            employee   :func:`perfkit.appraisal.ability.ability_frame`
``ability_dimensions`` employee   :func:`perfkit.appraisal.ability.ability_dimension_frame`
``conduct``            employee   :func:`perfkit.appraisal.deductions.conduct_frame`
``incidents``          employee   :func:`perfkit.appraisal.deductions.incident_frame`
``advisor``            employee   :func:`perfkit.appraisal.advisor.advisor_frame`
``advisor_branch``     branch     :func:`perfkit.appraisal.advisor.advisor_branch_frame`
``rfm_clients``        client     :func:`perfkit.appraisal.rfm.rfm_clients`
``rfm_employee``       employee   :func:`perfkit.appraisal.rfm.rfm_employee_frame`
``rfm_branch``         branch     :func:`perfkit.appraisal.rfm.rfm_branch_frame`
=====================  =========  ==========================================================

:data:`FRAMES` is that registry; :func:`frame` looks one up (the error names the known ones).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from perfkit.appraisal.ability import ability_dimension_frame, ability_frame
from perfkit.appraisal.advisor import advisor_branch_frame, advisor_frame
from perfkit.appraisal.deductions import conduct_frame, incident_frame
from perfkit.appraisal.rfm import rfm_branch_frame, rfm_clients, rfm_employee_frame
from perfkit.errors import SpecError

Frame = Callable[[Any, str, Any], pd.DataFrame]


#: Every appraisal frame by name: ``f(store, month, params) -> DataFrame`` over all entities.
FRAMES: dict[str, Frame] = {
    "ability": ability_frame,
    "ability_dimensions": ability_dimension_frame,
    "conduct": conduct_frame,
    "incidents": incident_frame,
    "advisor": advisor_frame,
    "advisor_branch": advisor_branch_frame,
    "rfm_clients": rfm_clients,
    "rfm_employee": rfm_employee_frame,
    "rfm_branch": rfm_branch_frame,
}


def frame(name: str) -> Frame:
    """The frame function ``name``; the error names the unknown key and the known ones."""
    try:
        return FRAMES[name]
    except KeyError:
        raise SpecError(f"unknown appraisal frame {name!r}; known: {', '.join(FRAMES)}") from None
