"""`kfstack cost`: the 3-year TCO model (kfstack/cost.py, kfstack/cost_defaults.yaml)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kfstack.cli import app
from kfstack.config import ConfigError
from kfstack.config.environment import EnvironmentConfig
from kfstack.cost import estimate, load_inputs, render_text, write_plot
from tests.conftest import env_dict


@pytest.fixture(scope="module")
def defaults():
    return estimate(load_inputs())


def _env(pools: list[dict]) -> EnvironmentConfig:
    data = env_dict({"node_pools": [{"name": "system", "count": 1}, *pools]})
    data["name"] = "test"
    return EnvironmentConfig.model_validate(data)


def _pool(name: str, count: int, per_node: int, product: str = "NVIDIA-A100-SXM4-80GB") -> dict:
    return {"name": name, "kind": "gpu", "count": count, "gpu": {"product": product, "per_node": per_node}}


def test_defaults_reproduce_the_designs_totals(defaults):
    totals = {o.key: o.total_usd for o in defaults.options}
    assert round(totals["on_demand"], -3) == 861_000 and totals["on_demand"] == pytest.approx(32.77 * 8760 * 3)
    assert round(totals["reserved"], -3) == 505_000 and totals["reserved"] == pytest.approx(19.22 * 8760 * 3)
    assert totals["on_prem"] == 601_000  # 250,000 + 36 x (2,000 + 1,500) + 3 x 75,000
    assert defaults.option("on_prem").lines == {"hardware": 250_000, "colocation": 72_000, "power": 54_000,
                                                 "staff": 225_000}
    assert (defaults.sizing.gpus, defaults.sizing.servers, defaults.sizing.instances) == (8, 1, 1)


def test_every_default_figure_names_its_source():
    flat = load_inputs().flat()
    assert len(flat) >= 18
    assert all(f["source"].strip() for f in flat.values())
    assert flat["cloud.on_demand_per_hour_usd"]["value"] == 32.77


def test_the_verdict_says_plainly_that_reserved_beats_on_prem_with_default_figures(defaults):
    text = "\n".join(defaults.verdict)
    assert "Cheapest over 3 years: Cloud reserved ($505,102)." in text
    assert "Reserved cloud is cheaper than on-prem over 3 years, by $95,898" in text


def test_break_even_utilizations(defaults):
    od, rs = defaults.break_even
    assert od.against == "on_demand" and od.utilization == pytest.approx(601_000 / (32.77 * 26_280))
    assert od.reachable and od.month == 18  # 250,000 + 10,250 m <= 23,922.1 m from month 18
    assert rs.against == "reserved" and rs.utilization == pytest.approx(601_000 / (19.22 * 26_280))
    assert not rs.reachable and rs.month is None
    assert "vs reserved: never (119% needed)" in "\n".join(render_text(defaults))


def test_cumulative_costs_start_with_what_is_paid_up_front_and_end_at_the_total(defaults):
    for o in defaults.options:
        assert len(o.cumulative_usd) == 37
        assert o.cumulative_usd[-1] == pytest.approx(o.total_usd)
    assert defaults.option("on_prem").cumulative_usd[0] == 250_000
    assert defaults.option("reserved").cumulative_usd[0] == 0


def test_hybrid_is_on_prem_for_the_base_plus_on_demand_whole_instances_for_the_peak(defaults):
    hybrid = defaults.option("hybrid")
    # peak 1.5 x 8 = 12 GPUs: 4 above the base, i.e. one p4d.24xlarge for 876 h a year.
    assert hybrid.lines["cloud_burst"] == pytest.approx(32.77 * 876 * 3)
    assert hybrid.total_usd == pytest.approx(601_000 + 32.77 * 876 * 3)
    assert "2 servers" in hybrid.note and "$977,000" in hybrid.note  # buying for the peak instead


def test_utilization_scales_on_demand_only(tmp_path):
    f = tmp_path / "half.yaml"
    f.write_text("capacity:\n  utilization: {value: 0.5, source: test}\n")
    report = estimate(load_inputs(f))
    assert report.option("on_demand").total_usd == pytest.approx(32.77 * 26_280 / 2)
    assert report.option("reserved").total_usd == pytest.approx(19.22 * 26_280)
    assert report.option("on_prem").total_usd == 601_000


def test_an_overridden_figure_never_keeps_the_defaults_source(tmp_path):
    f = tmp_path / "quote.yaml"
    f.write_text("on_prem:\n  hardware_per_server_usd: {value: 300000}\n"
                 "  power_per_server_per_month_usd: {value: 1800, source: site power bill 2026}\n")
    flat = load_inputs(f, display_root=tmp_path).flat()
    assert flat["on_prem.hardware_per_server_usd"] == {"value": 300000.0, "source": "quote.yaml (no source given)"}
    assert flat["on_prem.power_per_server_per_month_usd"]["source"] == "site power bill 2026"
    assert estimate(load_inputs(f)).option("on_prem").total_usd == 300_000 + 36 * (2_000 + 1_800) + 225_000


def test_data_lines_are_added_to_the_options_that_keep_data_in_the_cloud():
    report = estimate(load_inputs(overrides={"data": {"cloud_egress_per_month_usd": {"value": 5000, "source": "t"}}}))
    for key in ("on_demand", "reserved", "hybrid"):
        assert report.option(key).lines["cloud_egress"] == 180_000
    assert "cloud_egress" not in report.option("on_prem").lines
    assert report.option("reserved").total_usd == pytest.approx(19.22 * 26_280 + 180_000)
    # Break-even against on demand solves on_prem = rate x hours x u + data for u.
    assert report.break_even[0].utilization == pytest.approx((601_000 - 180_000) / (32.77 * 26_280))


def test_an_environment_is_sized_from_its_gpu_pools_in_whole_8_gpu_units(real_envs):
    report = estimate(load_inputs(), real_envs["prod"])  # gpu-a100: 4 nodes x 8 GPUs
    assert (report.sizing.gpus, report.sizing.servers, report.sizing.instances) == (32, 4, 4)
    assert report.option("on_prem").total_usd == 4 * (250_000 + 36 * 3_500) + 225_000
    assert report.option("reserved").total_usd == pytest.approx(4 * 19.22 * 26_280)
    assert report.env == "prod" and report.sizing.pools == ("gpu-a100: 4 x 8 NVIDIA-A100-SXM4-80GB",)
    mixed = estimate(load_inputs(), _env([_pool("a", 1, 8), _pool("b", 1, 4)]))
    assert (mixed.sizing.gpus, mixed.sizing.servers) == (12, 2)


def test_an_environment_without_gpu_pools_is_refused():
    with pytest.raises(ValueError, match="no GPU pool"):
        estimate(load_inputs(), _env([]))


def test_non_a100_pools_are_warned_about():
    report = estimate(load_inputs(), _env([_pool("t4", 2, 1, "Tesla-T4")]))
    assert report.warnings and "Tesla-T4" in report.warnings[0]


def test_input_errors_name_file_line_and_key_path(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("cloud:\n  on_demand_per_hour_usd: {value: -1, source: typo}\n"
                 "on_prem:\n  hardware_per_srever_usd: {value: 1, source: x}\n")
    with pytest.raises(ConfigError) as exc:
        load_inputs(f, display_root=tmp_path)
    text = str(exc.value)
    assert "bad.yaml:4: on_prem.hardware_per_srever_usd: unknown key" in text
    f.write_text("cloud:\n  on_demand_per_hour_usd: {value: -1, source: typo}\n")
    with pytest.raises(ConfigError) as exc:
        load_inputs(f, display_root=tmp_path)
    assert "bad.yaml:2: cloud.on_demand_per_hour_usd.value: must be >= 0 US dollars (got -1)" in str(exc.value)
    f.write_text("capacity:\n  gpus: {value: \"8\", source: x}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:2: capacity.gpus.value: .*integer"):
        load_inputs(f, display_root=tmp_path)


def test_cli_table_json_and_exit_codes(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["cost", "prod"])
    assert res.exit_code == 0, res.output
    assert "environment prod" in res.output and "$1,729,000" in res.output and "vs on demand: 50.2%" in res.output
    res = runner.invoke(app, ["cost", "--format", "json", "--egress-per-month", "5000"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert {o["key"]: o["total_usd"] for o in doc["options"]}["on_prem"] == 601_000
    assert doc["inputs"]["data.cloud_egress_per_month_usd"] == {"value": 5000.0, "source": "--egress-per-month"}
    bad = tmp_path / "bad.yaml"
    bad.write_text("capacity: {utilization: {value: 1.5, source: x}}\n")
    res = runner.invoke(app, ["cost", "--inputs", str(bad)])
    assert res.exit_code == 2 and "capacity.utilization.value: must be in (0, 1]" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["cost", "no-such-env"])
    assert res.exit_code == 2 and "no-such-env.yaml" in res.output


def test_plot_writes_a_chart(tmp_path, defaults):
    png = tmp_path / "tco.png"
    write_plot(defaults, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = CliRunner().invoke(app, ["cost", "--plot", str(tmp_path / "tco.svg")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "tco.svg").read_text().lstrip().startswith("<?xml")
    res = CliRunner().invoke(app, ["cost", "--plot", str(tmp_path / "tco.txt")])
    assert res.exit_code == 2 and not (tmp_path / "tco.txt").exists()
