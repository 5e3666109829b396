"""Econometric estimation on ``marts.analysis_panel``; results go to schema ``results``."""
