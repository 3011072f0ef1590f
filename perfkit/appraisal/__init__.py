"""The appraisal layer: from indicator values to scores, grades, levels and pay.

- scorecard.yaml: :mod:`~perfkit.appraisal.spec` (the models and their rules),
  :mod:`~perfkit.appraisal.methods` (the scoring methods' registry), :mod:`~perfkit.appraisal.scoring`
  (points per indicator), :mod:`~perfkit.appraisal.ability` (360), :mod:`~perfkit.appraisal.deductions`
  (百分制倒扣), :mod:`~perfkit.appraisal.grades` (grades, stars) and :mod:`~perfkit.appraisal.scorecard`
  (``perfkit scores``: all of them for a month);
- appraisal.yaml: :mod:`~perfkit.appraisal.options`, :mod:`~perfkit.appraisal.advisor` (risk-adjusted
  evaluation), :mod:`~perfkit.appraisal.rfm` (client classes), :mod:`~perfkit.appraisal.frames` (the
  report frames by name);
- levels.yaml and pay.yaml: :mod:`~perfkit.appraisal.level_rules` + :mod:`~perfkit.appraisal.levels`
  (职级评定), :mod:`~perfkit.appraisal.pay_rules` + :mod:`~perfkit.appraisal.pay` (绩效工资与奖金);
- for analysts: :mod:`~perfkit.appraisal.weights` (AHP, fuzzy and expert weights, fuzzy evaluation,
  Jensen and Treynor–Mazuy) and :mod:`~perfkit.appraisal.derive` (weights → scorecard YAML).

It imports the metrics and data layers and the shared helpers, never a report or the batch.
"""
