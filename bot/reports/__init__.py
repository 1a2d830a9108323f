"""What the administrator looks at: SLA compliance, volumes, backlog, people, CSAT.

``ReportService.build(period)`` gives the Spanish summary, one CSV table per chart and
the PNG charts (matplotlib, imported only when a chart is drawn). ``WeeklyReport``
posts last week's report by itself once per week. Figures are defined in ``figures.py``.
"""

from __future__ import annotations

from .charts import Chart
from .figures import ReportFigures
from .period import Period, last_week, parse_period
from .service import Report, ReportService

__all__ = ["Chart", "Period", "Report", "ReportFigures", "ReportService", "last_week",
           "parse_period"]
