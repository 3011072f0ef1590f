"""The report layer: the three role views as widgets, and their export to one offline HTML file.

- the role reports — :mod:`~perfkit.report.company` (总部), :mod:`~perfkit.report.branch` (营业部),
  :mod:`~perfkit.report.employee` (员工) on :mod:`~perfkit.report.base`; the notebooks in
  ``notebooks/`` build one and display its sections;
- their sections — :mod:`~perfkit.report.sections` (indicators, tasks, scores, publication),
  :mod:`~perfkit.report.appraisal_sections` (考核方法), :mod:`~perfkit.report.levels_pay`;
- the pieces — :mod:`~perfkit.report.widgets` (escaped tables, drill-downs switched in the
  browser), :mod:`~perfkit.report.charts` (SVG charts, the CJK font for matplotlib);
- the page — :mod:`~perfkit.report.export` (nbconvert with the ``perfkit_report`` template in
  ``templates/``), :mod:`~perfkit.report.bundle` (the widget manager and CSS, inlined),
  :mod:`~perfkit.report.fonts` (the page's font subset).

Only this layer makes markup. It reads the month layer (and the layers below it), never the batch.
"""
