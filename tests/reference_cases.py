"""The inputs of the stored R references (tests/reference/, README there): the bundled
SYNTHETIC panel with its two matrices, plm's Produc and Cigar with the hand-written queen
contiguity, read from tests/reference/data/ exactly as make_references.R reads them, and the
stored JSON outputs.

A dataset is (panel with columns ``id``, ``time``, ``y`` and the regressors, regressor names,
{matrix name: SpatialWeights}); W's units are ordered as R orders them (province code;
Produc's state name; Cigar's state code).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from estimation.spatial.weights import SpatialWeights

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
DATA = REFERENCE_DIR / "data"
BUNDLED_X = ["dt", "medical", "ec", "open", "tax", "culture"]


@dataclass(frozen=True)
class Dataset:
    name: str
    panel: pd.DataFrame           # id, time, y, regressors (and iv for the bundled panel)
    regressors: list[str]
    weights: dict[str, SpatialWeights]


@lru_cache(maxsize=None)
def reference(name: str) -> dict:
    """A stored JSON output, e.g. ``reference("spatial_panel")``."""
    return json.loads((REFERENCE_DIR / f"{name}.json").read_text())


def _contiguity(abbrev: list[str], ids, name: str) -> SpatialWeights:
    edges = pd.read_csv(DATA / "us_queen_contiguity.csv")
    edges = edges[edges.state_i.isin(abbrev) & edges.state_j.isin(abbrev)]
    pos = {a: i for i, a in enumerate(abbrev)}
    c = np.zeros((len(abbrev), len(abbrev)))
    c[edges.state_i.map(pos).to_numpy(), edges.state_j.map(pos).to_numpy()] = 1.0
    return SpatialWeights.from_dense(c / c.sum(axis=1, keepdims=True), np.asarray(ids), name)


@lru_cache(maxsize=None)
def dataset(name: str) -> Dataset:
    if name == "bundled":
        raw = pd.read_csv(DATA / "bundled_panel.csv")
        panel = raw.rename(columns={"province_code": "id", "year": "time", "er": "y"})
        panel = panel[["id", "time", "y", *BUNDLED_X, "iv"]]
        long = pd.read_csv(DATA / "bundled_weights.csv")
        weights = {}
        for matrix, frame in long.groupby("matrix"):
            codes = np.sort(frame.province_code_i.unique())
            w = frame.pivot(index="province_code_i", columns="province_code_j", values="weight")
            weights[matrix] = SpatialWeights.from_dense(w.loc[codes, codes].to_numpy(), codes, matrix)
        return Dataset(name, panel.sort_values(["id", "time"], ignore_index=True), BUNDLED_X, weights)
    states = pd.read_csv(DATA / "us_states.csv", keep_default_na=False)
    if name == "produc":
        raw = pd.read_csv(DATA / "produc.csv")
        panel = pd.DataFrame({"id": raw.state, "time": raw.year, "y": np.log(raw.gsp),
                              "log_pcap": np.log(raw.pcap), "log_pc": np.log(raw.pc),
                              "log_emp": np.log(raw.emp), "unemp": raw.unemp})
        present = states[states.produc_state != ""].sort_values("produc_state")
        w = _contiguity(list(present.state), present.produc_state.to_numpy(), "queen_contiguity")
        # SpatialWeights codes are integers for the warehouse; here positions stand for names
        codes = {s: i for i, s in enumerate(present.produc_state)}
        panel["id"] = panel.id.map(codes)
        w = SpatialWeights.from_dense(w.matrix, np.arange(len(codes)), "queen_contiguity")
        regressors = ["log_pcap", "log_pc", "log_emp", "unemp"]
    elif name == "cigar":
        raw = pd.read_csv(DATA / "cigar.csv")
        panel = pd.DataFrame({"id": raw.state, "time": raw.year, "y": np.log(raw.sales),
                              "log_real_price": np.log(raw.price / raw.cpi),
                              "log_real_pimin": np.log(raw.pimin / raw.cpi),
                              "log_real_ndi": np.log(raw.ndi / raw.cpi)})
        present = states[states.cigar_state != ""].copy()
        present["cigar_state"] = present.cigar_state.astype(int)
        present = present.sort_values("cigar_state")
        w = _contiguity(list(present.state), present.cigar_state.to_numpy(), "queen_contiguity")
        regressors = ["log_real_price", "log_real_pimin", "log_real_ndi"]
    else:
        raise KeyError(name)
    return Dataset(name, panel.sort_values(["id", "time"], ignore_index=True), regressors,
                   {"queen_contiguity": w})
