"""Operations: what operators run chelun with, day to day.

``chelun.ops.deployments`` is the catalogue of scheduled flows (which flow, when, with which
parameters, for each province served), ``chelun.ops.cli`` the ``chelun serve`` and
``chelun deploy`` commands that run it through Prefect, ``chelun.ops.drop`` the roster drop
folders the daily intake reads, ``chelun.ops.settings`` their settings; ``chelun.ops.report``
and ``chelun.ops.charts`` the figures, tables and charts of ``chelun report``.
docs/operators.md describes the setup.
"""
