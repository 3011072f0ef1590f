"""The delivery layer: ``perfkit deliver`` e-mails every recipient of a month his own reports,
once — :mod:`~perfkit.delivery.config` (delivery.yaml), :mod:`~perfkit.delivery.plan` (who gets
which files, the scope check), :mod:`~perfkit.delivery.record` (delivery.json, step by step),
:mod:`~perfkit.delivery.smtp` (the standard library's SMTP, in steps), :mod:`~perfkit.delivery.runner`.

It reads the batch's manifest of the month and the store; nothing below it imports it.
"""
