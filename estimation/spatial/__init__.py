"""Spatial analysis (paper sec. 6.3): weights and their spectra, Moran's I, two-way FE
SDM/SAR/SEM by the Lee-Yu (2010) transformation approach, LeSage-Pace effects, LM tests.

Entry points: :mod:`.weights` (building and checking W), :mod:`.models` (one spec -> one
result), :mod:`.sdm` (the likelihoods). See ``docs/examples/sdm_knn.py`` for a fit with
only this package.
"""
