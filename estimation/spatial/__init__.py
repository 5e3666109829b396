"""Spatial analysis (paper sec. 6.3): Moran's I, Moran scatter plots, two-way FE SDM/SAR/SEM
by the Lee-Yu (2010) transformation approach, LeSage-Pace effects, LM tests.

Entry points: :func:`estimation.spatial.suite.run_spatial_suite` and
:func:`estimation.spatial.plots.moran_scatter` (docs/CONTRACTS.md).
"""
