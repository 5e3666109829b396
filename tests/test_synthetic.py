"""The synthetic sample: reproducible bytes, complete, plausible, and with the documented
latent structure. The bundled files are read back with a small reader written here (not the
loader), so these tests check the files against the format spec on their own."""
from __future__ import annotations

import csv
import io
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from warehouse.paths import SAMPLE_BASE_DIR, SAMPLE_NEXT_VINTAGE_DIR
from warehouse.seeds import seed_rows
from synthetic.dgp import SampleSpec, generate_panel, generate_units, simulate
from synthetic.sample import REVISIONS, write_sample

MISSING = {"", "…", "...", "-", "—"}
STUDY_YEARS = list(range(2013, 2022))


INDICATORS = {r["name_zh"]: r for r in seed_rows("indicators")}
CODES = {r["code"]: r for r in seed_rows("indicators")}
PROVINCES = {r["name_zh"]: int(r["province_code"]) for r in seed_rows("provinces")}
FACTORS = {(r["unit"], r["canonical_unit"]): float(r["factor"]) for r in seed_rows("units")}


def _rows(path: Path) -> list[list[str]]:
    if path.suffix == ".xlsx":
        ws = load_workbook(path, read_only=True).worksheets[0]
        return [["" if c is None else str(c) for c in row] for row in ws.iter_rows(values_only=True)]
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("gbk")
    return list(csv.reader(io.StringIO(text)))


def _split_label(label: str) -> tuple[str, str]:
    name, _, unit = label.rpartition("(")
    return name, unit.rstrip(")")


def _to_canonical(value: str, unit: str, code: str) -> float:
    if value.strip() in MISSING:
        return math.nan
    canonical = CODES[code]["unit"]
    return float(value) * (1.0 if unit == canonical else FACTORS[(unit, canonical)])


def read_folder(folder: Path) -> pd.DataFrame:
    """Long frame code, province_code, year, value (canonical units), file."""
    out = []
    for path in sorted(folder.glob("*.*")):
        if path.suffix not in (".csv", ".xlsx"):
            continue
        rows = _rows(path)
        if rows[0][0] == "Prvcnm":
            codes, labels = rows[0][2:], rows[1][2:]
            for r in rows[2:]:
                for code, label, cell in zip(codes, labels, r[2:]):
                    out.append((code, PROVINCES[r[0]], int(float(r[1])),
                                _to_canonical(cell, _split_label(label)[1], code), path.name))
            continue
        assert rows[0][0] == "数据库：分省年度数据", path
        name, unit = _split_label(rows[1][0].removeprefix("指标："))
        code = INDICATORS[name]["code"]
        header = rows[3]
        years = [int(h.removesuffix("年")) for h in header[1:]]
        for r in rows[4:]:
            if r[0] not in PROVINCES:
                assert r[0].startswith(("注：", "数据来源：")), (path, r)
                continue
            for y, cell in zip(years, r[1:]):
                out.append((code, PROVINCES[r[0]], y, _to_canonical(cell, unit, code), path.name))
    return pd.DataFrame(out, columns=["code", "province_code", "year", "value", "file"])


@pytest.fixture(scope="module")
def base():
    return read_folder(SAMPLE_BASE_DIR)


@pytest.fixture(scope="module")
def vintage():
    return read_folder(SAMPLE_NEXT_VINTAGE_DIR)


def _wide(df, year=None):
    df = df[df.code != "fixed_telephones_1984"]
    w = df.pivot_table(index=["province_code", "year"], columns="code", values="value", dropna=False)
    return w if year is None else w.xs(year, level="year")


def test_bundled_sample_regenerates_byte_identically(tmp_path):
    written = write_sample(tmp_path / "base", SampleSpec(), next_vintage_dir=tmp_path / "v")
    assert len(written) == len(set(written))
    for bundled, fresh in ((SAMPLE_BASE_DIR, tmp_path / "base"), (SAMPLE_NEXT_VINTAGE_DIR, tmp_path / "v")):
        names = sorted(p.name for p in bundled.iterdir())
        assert names == sorted(p.name for p in fresh.iterdir())
        for name in names:
            assert (bundled / name).read_bytes() == (fresh / name).read_bytes(), name
    assert any(p.suffix == ".xlsx" for p in written)


def test_bundled_sample_is_small_and_labelled_synthetic():
    size = sum(p.stat().st_size for d in (SAMPLE_BASE_DIR, SAMPLE_NEXT_VINTAGE_DIR) for p in d.iterdir())
    assert size < 1_000_000
    for d in (SAMPLE_BASE_DIR, SAMPLE_NEXT_VINTAGE_DIR):
        label = (d / "vintage.txt").read_text(encoding="utf-8").strip().splitlines()
        assert len(label) == 1 and "synthetic" in label[0]


def test_nbs_files_follow_the_export_format():
    gbk = [p for p in SAMPLE_BASE_DIR.glob("nbs_*.csv") if not p.read_bytes().startswith(b"\xef\xbb\xbf")]
    bom = [p for p in SAMPLE_BASE_DIR.glob("nbs_*.csv") if p.read_bytes().startswith(b"\xef\xbb\xbf")]
    assert len(gbk) > 30 and 2 <= len(bom) <= 3
    with pytest.raises(UnicodeDecodeError):
        (SAMPLE_BASE_DIR / "nbs_gdp.csv").read_bytes().decode("utf-8")
    rows = _rows(SAMPLE_BASE_DIR / "nbs_gdp.csv")
    assert b"\r\n" in (SAMPLE_BASE_DIR / "nbs_gdp.csv").read_bytes()
    assert rows[1] == ["指标：地区生产总值(亿元)"] and rows[2] == ["时间：最近9年"]
    assert rows[3] == ["地区"] + [f"{y}年" for y in range(2021, 2012, -1)]
    names = [r[0] for r in rows[4:35]]
    assert names[0] == "北京市" and names[-1] == "新疆维吾尔自治区" and "西藏自治区" in names
    assert [PROVINCES[n] for n in names] == sorted(PROVINCES.values())
    assert rows[-1] == ["数据来源：国家统计局"] and rows[-2][0].startswith("注：")
    assert _rows(SAMPLE_BASE_DIR / "nbs_fixed_telephones_1984.csv")[3] == ["地区", "1984年"]
    assert _rows(SAMPLE_NEXT_VINTAGE_DIR / "nbs_gdp.csv")[3][1:] == [f"{y}年" for y in range(2022, 2013, -1)]
    # a few known unit variants are used on purpose
    assert _rows(SAMPLE_BASE_DIR / "nbs_rd_expenditure.csv")[1] == ["指标：R&D经费内部支出(万元)"]
    assert "铁路营业里程(公里)" in _rows(SAMPLE_BASE_DIR / "cnrds_panel.csv")[1]


def test_every_indicator_present_for_every_study_province_year(base):
    assert set(base["code"]) == set(CODES)
    study = base[(base.province_code != 54) & (base.code != "fixed_telephones_1984")]
    counts = study.groupby("code").size()
    assert (counts == 30 * 9).all()
    tel = base[base.code == "fixed_telephones_1984"]
    assert set(tel.year) == {1984} and len(tel) == 31 and tel.value.notna().all()


def test_accounting_identities(base, vintage):
    for df in (base, vintage):
        w = _wide(df)
        va = w[["va_primary", "va_secondary", "va_tertiary"]].sum(axis=1, min_count=3)
        ok = va.notna() & w.gdp.notna()
        assert ok.sum() >= 270
        assert np.abs(va[ok] - w.gdp[ok]).max() < 0.011
        cats = ["cons_food", "cons_clothing", "cons_housing", "cons_household", "cons_transport_comm",
                "cons_education_culture", "cons_health", "cons_other"]
        total = w[cats].sum(axis=1, min_count=8)
        ok = total.notna() & w.consumption_pc.notna()
        assert np.abs(total[ok] - w.consumption_pc[ok]).max() < 0.05
        fiscal = w[["tax_revenue", "fiscal_revenue", "fiscal_expenditure"]].dropna()
        assert (fiscal.tax_revenue < fiscal.fiscal_revenue).all()
        assert (fiscal.fiscal_revenue < fiscal.fiscal_expenditure).all()
        shares = w[["fiscal_exp_social_security", "fiscal_exp_science", "fiscal_exp_education"]].div(
            w.fiscal_expenditure, axis=0).stack().dropna()
        assert shares.between(0.003, 0.25).all()
        rd = w[["industrial_rd_expenditure", "rd_expenditure"]].dropna()
        assert (rd.industrial_rd_expenditure < rd.rd_expenditure).all()


def test_magnitudes_are_plausible(base):
    w = _wide(base[base.province_code != 54])
    gdp = w.gdp.unstack()
    assert gdp.loc[63].max() < 5000 and gdp.loc[63].min() > 1000          # Qinghai
    assert gdp.loc[44, 2021] > 1e5                                          # Guangdong
    assert w.population.between(500, 13000).all()
    assert w.gdp_index.between(96, 115).all() and w.gdp_index.median() > 105
    assert w.fai_price_index.between(96, 108).all()
    assert w.unemployment_rate.dropna().between(3, 6).all()
    assert w.urbanization_rate.dropna().between(35, 90).all()
    assert w.marketization_index.dropna().between(2, 12.5).all()
    assert w.exchange_rate.between(600, 700).all()
    gdppc = w.gdp * 1e8 / (w.population * 1e4)
    assert np.allclose(gdppc[w.gdp_per_capita.notna()], w.gdp_per_capita.dropna(), atol=1.0)
    # east-west gradient: eastern provinces richer and more digital
    region = {int(r["province_code"]): r["region"] for r in seed_rows("provinces")}
    by_region = w.xs(2021, level="year").groupby(lambda c: region[c])
    assert by_region.gdp_per_capita.mean()["east"] > by_region.gdp_per_capita.mean()["west"]
    assert by_region.broadband_ports.mean()["east"] > by_region.broadband_ports.mean()["west"]


def _inverse_distance_weights(codes):
    prov = {int(r["province_code"]): r for r in seed_rows("provinces")}
    lat = np.radians([float(prov[c]["capital_lat"]) for c in codes])
    lon = np.radians([float(prov[c]["capital_lon"]) for c in codes])
    a = (np.sin((lat[:, None] - lat[None, :]) / 2) ** 2
         + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin((lon[:, None] - lon[None, :]) / 2) ** 2)
    dist = 2 * 6371 * np.arcsin(np.sqrt(a))
    with np.errstate(divide="ignore"):
        w = np.where(dist > 0, 1 / dist, 0.0)
    return w / w.sum(axis=1, keepdims=True)


def _moran(x, w):
    z = x - x.mean()
    return len(x) / w.sum() * (z @ w @ z) / (z @ z)


def test_gdp_per_capita_is_spatially_autocorrelated(base):
    x = _wide(base[base.province_code != 54], 2021)
    w = _inverse_distance_weights(list(x.index))
    i_gdppc = _moran(x.gdp_per_capita.to_numpy(), w)
    i_ports = _moran(np.log(x.broadband_ports / x.population).to_numpy(), w)
    expected = -1 / (len(x) - 1)
    assert i_gdppc > expected + 0.05 and i_ports > expected + 0.05
    # permutation check: the observed I beats almost every random relabelling
    rng = np.random.default_rng(0)
    draws = [_moran(rng.permutation(x.gdp_per_capita.to_numpy()), w) for _ in range(499)]
    assert np.mean(np.array(draws) >= i_gdppc) < 0.05


def test_missing_cells_are_sparse_and_interior(base, vintage):
    study = base[base.province_code != 54]
    miss = study[study.value.isna()]
    assert 10 <= len(miss) <= 100
    assert miss.groupby(["code", "province_code"]).size().max() == 1
    assert not miss.year.isin([2013, 2014, 2021]).any()
    assert base[(base.province_code == 54)].value.isna().sum() >= 10
    v = vintage[(vintage.province_code != 54)]
    assert v[v.year == 2022].value.notna().all()


def test_next_vintage_repeats_base_except_the_declared_revisions(base, vintage):
    nbs_v = vintage[vintage.file.str.startswith("nbs_")]
    assert set(nbs_v.year) == set(range(2014, 2023))
    cnrds_v = vintage[vintage.file.str.startswith("cnrds_")]
    assert set(cnrds_v.year) == {2022}
    merged = nbs_v[nbs_v.year <= 2021].merge(base, on=["code", "province_code", "year"], suffixes=("_v", "_b"))
    assert len(merged) == len(nbs_v[nbs_v.year <= 2021])
    same = (merged.value_v == merged.value_b) | (merged.value_v.isna() & merged.value_b.isna())
    changed = merged[~same]
    assert sorted(zip(changed.code, changed.province_code, changed.year)) == sorted(
        (code, prov, 2021) for code, prov, _ in REVISIONS)
    rel = (changed.value_v / changed.value_b - 1).to_numpy()
    assert (np.abs(rel) > 0).all() and (np.abs(rel) < 0.02).all()


def test_latent_structure_directions():
    sim = simulate(SampleSpec())
    study = sim.units["in_study_sample"].to_numpy()
    years = slice(1, len(sim.years) - 1)
    d = sim.latent["d"][study, years]
    # d rises over time everywhere and is higher in the east
    assert (d[:, -1] > d[:, 0]).all()
    east = sim.units.loc[study, "lon"].to_numpy()
    assert np.corrcoef(east, d[:, 0])[0, 1] > 0.3
    # instrument relevance: ports(t-1) x telephones(1984) correlates with d
    ports = sim.values["broadband_ports"][study]
    iv = np.log(ports[:, :-2] * sim.telephones_1984[study, None])  # ports of 2012..2020
    assert np.corrcoef(iv.ravel(), d.ravel())[0, 1] > 0.5
    # within provinces, tertiary share, development-consumption share and misallocation
    # move with the digital-trade volume v (the index of the volume-type inputs)
    def within(x):
        x = x - x.mean(axis=1, keepdims=True)
        return (x - x.mean(axis=0, keepdims=True)).ravel()
    vw = within(sim.latent["v"][study, years])
    assert np.corrcoef(vw, within(sim.latent["tert_share"][study, years]))[0, 1] > 0.5
    assert np.corrcoef(vw, within(sim.latent["cu_share"][study, years]))[0, 1] > 0.3
    rm = sim.latent["rm"][study, years]
    assert np.corrcoef(vw, within(rm))[0, 1] < -0.7  # allocation improves as digital trade grows
    assert rm[:, -1].mean() < rm[:, 0].mean()
    # the planted wedges only trade capital against labour: beta ln gamma_K + (1 - beta)
    # ln gamma_L moves by a common amount per year (TFP stays separable)
    beta_i = sim.latent["beta"][:, None]
    phi = beta_i * sim.latent["ln_gamma_k"] + (1 - beta_i) * sim.latent["ln_gamma_l"]
    step = phi - phi[:, [0]]
    assert np.abs(step[study] - step[study].mean(axis=0)).max() < 0.01
    # the spillover regressor is the inverse-distance average of the other study units' v
    w = _inverse_distance_weights(list(sim.units.loc[study, "unit_code"]))
    assert np.allclose(sim.latent["wv"][study], w @ sim.latent["v"][study])
    # Cobb-Douglas holds exactly: ln Y - beta ln K - (1-beta) ln L varies only by TFP
    y, k = sim.latent["y_real"], sim.latent["capital"]
    lab = sim.values["employment"]
    beta = sim.latent["beta"][:, None]
    ln_a = np.log(y) - beta * np.log(k) - (1 - beta) * np.log(lab)
    assert np.abs(np.diff(ln_a, axis=1) - np.diff(ln_a, axis=1).mean(axis=0)).max() < 0.06


@pytest.mark.parametrize("units, n", [("prefecture", 338), ("county", 2845)])
def test_lower_levels_are_the_real_units_of_the_registry(units, n):
    """cpca's registry: 333 prefecture-level cities plus the 4 municipalities and Hong Kong-free
    mainland; 2,845 counties and districts with coordinates (placeholders left out)."""
    spec = SampleSpec(units=units, first_year=2016, last_year=2020)
    ref = generate_units(spec)
    assert len(ref) == n and ref.unit_code.is_unique
    # prefecture names repeat only across provinces; county names even within one (桥西区 of
    # 石家庄市 and of 邢台市): a county sample names its units by code
    assert not ref.duplicated(["parent_code", "unit_name"]).any() or units == "county"
    assert (ref.unit_code // 10000 == ref.parent_code).all()
    assert ref.lat.between(10, 60).all() and ref.lon.between(70, 140).all()
    named = dict(zip(ref.unit_code, ref.unit_name))
    assert named[130100 if units == "prefecture" else 130102] == ("石家庄市" if units == "prefecture" else "长安区")
    panel = generate_panel(spec)
    assert panel.unit_code.nunique() == n
    assert sorted(panel.year.unique()) == list(range(2016, 2021))
    assert set(panel.indicator_code) == set(CODES) - {"fixed_telephones_1984"}
    gdp = panel[panel.indicator_code == "gdp"].pivot(index="unit_code", columns="year", values="value")
    assert (gdp > 0).all().all()


def test_lower_level_sample_writes_a_city_panel_province_series_and_a_units_reference(tmp_path):
    spec = SampleSpec(units="prefecture", first_year=2019, last_year=2021)
    written = write_sample(tmp_path, spec)
    assert {p.name for p in written} == {"cnrds_prefecture_panel.csv", "cnrds_province_panel.csv",
                                         "nbs_fixed_telephones_1984.csv", "units_reference.csv", "vintage.txt",
                                         "SYNTHETIC.txt"}
    panel = pd.read_csv(tmp_path / "cnrds_prefecture_panel.csv", skiprows=[1], encoding="utf-8-sig")
    assert len(panel) == 338 * 3 and list(panel.columns[:3]) == ["Prvcnm", "Ctnm", "Sgnyea"]
    province_only = {c for c, r in CODES.items() if r["lower_levels"] == "parent"}
    assert not province_only & set(panel.columns)
    provinces = pd.read_csv(tmp_path / "cnrds_province_panel.csv", skiprows=[1], encoding="utf-8-sig")
    assert len(provinces) == 31 * 3 and set(provinces.columns[2:]) == province_only - {"fixed_telephones_1984"}
    reference = pd.read_csv(tmp_path / "units_reference.csv")
    assert list(reference.columns) == ["unit_code", "unit_name", "level", "province_code", "lat", "lon", "aliases"]
    assert len(reference) == 338 and set(reference.level) == {"prefecture"}


def test_bad_spec_is_rejected():
    with pytest.raises(ValueError, match="units"):
        SampleSpec(units="township")
    with pytest.raises(ValueError, match="three years"):
        SampleSpec(first_year=2020, last_year=2021)


def test_bundled_sample_loads_and_the_next_vintage_revises(tmp_path):
    loader = pytest.importorskip("warehouse.loader")
    import duckdb

    for d in (SAMPLE_BASE_DIR, SAMPLE_NEXT_VINTAGE_DIR):
        shutil.copytree(d, tmp_path / d.name)
    wh = tmp_path / "w.duckdb"
    loader.load_landing(tmp_path / "base", wh)
    loader.load_landing(tmp_path / "vintage_2022", wh)
    con = duckdb.connect(str(wh), read_only=True)
    revised = con.sql("select indicator_code, unit_code, year from raw.revisions").fetchall()
    assert sorted(revised) == sorted((c, p, 2021) for c, p, _ in REVISIONS)
    n_codes = con.execute("select count(distinct indicator_code) from raw.observations").fetchone()[0]
    assert n_codes == len(CODES)
    rd = con.execute("select value from raw.observations where indicator_code='rd_expenditure' "
                 "and unit_code=11 and year=2021").fetchone()[0]
    raw = _rows(SAMPLE_BASE_DIR / "nbs_rd_expenditure.csv")[4][1]
    assert rd == pytest.approx(float(raw) / 1e4)  # 万元 -> 亿元
