"""``kfstack cost``: a 3-year total cost of ownership of GPU capacity, cloud vs on-prem.

Inputs come from ``kfstack/cost_defaults.yaml`` (every figure carries its source),
optionally overridden key by key by a user file (``--inputs FILE``). All money is
US dollars; ``hours_per_year`` and ``horizon_years`` set the horizon.

Options compared for the same steady capacity (``capacity.gpus``, or an environment's
GPU pools), in whole 8-GPU units (servers on-prem, ``p4d.24xlarge`` instances in the cloud):

- cloud on demand: ``on_demand_per_hour_usd x hours x utilization x instances``;
- cloud reserved: ``reserved_per_hour_usd x hours x instances`` (paid whether used or not);
- on-prem: ``hardware_per_server_usd x servers`` up front, plus colocation and power per
  server per month, plus ``ops_fte x fte_cost_per_year_usd`` per year;
- hybrid: on-prem for the steady base plus on-demand cloud for the peak above it
  (``peak_factor``, ``peak_hours_per_year``).

Optional cloud data lines (storage, egress per month) are added to every option that keeps
data in the cloud (on demand, reserved, hybrid).

Break-even utilization against a cloud option is the share of the hours the capacity must be
busy for on-prem to cost no more than buying the same GPU-hours from that option at its hourly
rate: ``on_prem_total / (rate x hours x units)``. Above 100 % on-prem never breaks even.

Example::

    report = estimate(load_inputs())            # the design's example: one 8-GPU server
    report.option("on_demand").total_usd        # 861195.6
    estimate(load_inputs(), env=prod_env)       # sized from prod's GPU pools
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import Field, ValidationError, model_validator

from kfstack.config.errors import ConfigError, Loc, Problem
from kfstack.config.loader import _Doc, deep_merge, read_yaml
from kfstack.model import Settings

if TYPE_CHECKING:
    from kfstack.config.environment import EnvironmentConfig

DEFAULTS_FILE = Path(__file__).with_name("cost_defaults.yaml")
"""The default inputs (the design's example), each figure with its source."""

T = TypeVar("T")


class Figure(Settings, Generic[T]):
    """One input figure and where it comes from (a price page, a quote, an assumption)."""

    value: T
    source: str = Field(..., min_length=1, description="Where the figure comes from. Required.")


class Capacity(Settings):
    """The steady GPU capacity to pay for (replaced by an environment's GPU pools with ``kfstack cost ENV``)."""

    gpus: Figure[int] = Field(..., description="GPUs of steady capacity (>= 1). Required.")
    utilization: Figure[float] = Field(..., description="Share of hours busy, 0 < u <= 1. Required.")


class Cloud(Settings):
    """The cloud instance the capacity is rented as."""

    instance_type: Figure[str]
    gpus_per_instance: Figure[int]
    on_demand_per_hour_usd: Figure[float]
    reserved_per_hour_usd: Figure[float]


class OnPrem(Settings):
    """Servers bought and run in a colocation facility."""

    gpus_per_server: Figure[int]
    hardware_per_server_usd: Figure[float]
    colocation_per_server_per_month_usd: Figure[float]
    power_per_server_per_month_usd: Figure[float]
    ops_fte: Figure[float]
    fte_cost_per_year_usd: Figure[float]


class Hybrid(Settings):
    """On-prem for the steady base, on-demand cloud for the peak above it."""

    peak_factor: Figure[float]
    peak_hours_per_year: Figure[float]


class Data(Settings):
    """Optional monthly data lines of the options that keep data in the cloud."""

    cloud_storage_per_month_usd: Figure[float]
    cloud_egress_per_month_usd: Figure[float]


class CostInputs(Settings):
    """Every input of the model. Load with :func:`load_inputs`; money in US dollars.

    Raises (as ``pydantic.ValidationError``): a missing figure, an unknown key, a wrong type,
    or an impossible value (negative money, utilization outside (0, 1], ...).
    """

    horizon_years: Figure[int]
    hours_per_year: Figure[float]
    capacity: Capacity
    cloud: Cloud
    on_prem: OnPrem
    hybrid: Hybrid
    data: Data

    @model_validator(mode="after")
    def _in_range(self) -> "CostInputs":  # range checks, reported with the key path of each figure
        checks: list[tuple[str, bool, str]] = [
            ("horizon_years", 1 <= self.horizon_years.value <= 20, "between 1 and 20"),
            ("hours_per_year", 0 < self.hours_per_year.value <= 8784, "between 0 and 8784 (a leap year)"),
            ("capacity.gpus", self.capacity.gpus.value >= 1, ">= 1"),
            ("capacity.utilization", 0 < self.capacity.utilization.value <= 1, "in (0, 1]"),
            ("cloud.gpus_per_instance", self.cloud.gpus_per_instance.value >= 1, ">= 1"),
            ("on_prem.gpus_per_server", self.on_prem.gpus_per_server.value >= 1, ">= 1"),
            ("on_prem.ops_fte", self.on_prem.ops_fte.value >= 0, ">= 0"),
            ("hybrid.peak_factor", self.hybrid.peak_factor.value >= 1, ">= 1 (peak demand / steady capacity)"),
            ("hybrid.peak_hours_per_year", 0 <= self.hybrid.peak_hours_per_year.value <= self.hours_per_year.value,
             "between 0 and hours_per_year"),
        ]
        for key in ("on_demand_per_hour_usd", "reserved_per_hour_usd"):
            checks.append((f"cloud.{key}", getattr(self.cloud, key).value >= 0, ">= 0 US dollars"))
        for key in ("hardware_per_server_usd", "colocation_per_server_per_month_usd",
                    "power_per_server_per_month_usd", "fte_cost_per_year_usd"):
            checks.append((f"on_prem.{key}", getattr(self.on_prem, key).value >= 0, ">= 0 US dollars"))
        for key in ("cloud_storage_per_month_usd", "cloud_egress_per_month_usd"):
            checks.append((f"data.{key}", getattr(self.data, key).value >= 0, ">= 0 US dollars"))
        bad = [(k, rule) for k, ok, rule in checks if not ok]
        if bad:
            raise _RangeError(bad)
        return self

    def flat(self) -> dict[str, dict[str, Any]]:
        """Every figure by dotted key path: ``{"cloud.reserved_per_hour_usd": {"value": 19.22, "source": ...}}``."""
        out: dict[str, dict[str, Any]] = {}

        def walk(prefix: str, data: dict[str, Any]) -> None:
            for key, value in data.items():
                if isinstance(value, dict) and set(value) == {"value", "source"}:
                    out[f"{prefix}{key}"] = value
                elif isinstance(value, dict):
                    walk(f"{prefix}{key}.", value)

        walk("", self.model_dump())
        return out


class _RangeError(ValueError):
    def __init__(self, bad: list[tuple[str, str]]) -> None:
        self.bad = bad
        super().__init__("; ".join(f"{k}: must be {rule}" for k, rule in bad))


def load_inputs(path: Path | None = None, *, display_root: Path | None = None,
                overrides: dict[str, Any] | None = None) -> CostInputs:
    """The defaults, overridden key by key by ``path`` when given, then by ``overrides``
    (same shape; shown as ``command line`` in errors).

    Raises:
        ConfigError: the file is unreadable or not YAML, or a key is unknown, missing, of the
            wrong type or out of range; each problem names the file, line and key path.
    """
    defaults = read_yaml(DEFAULTS_FILE, _show(DEFAULTS_FILE, display_root))
    docs = [defaults]
    if path is not None:
        docs.append(read_yaml(path, _show(path, display_root)))
    if overrides:
        docs.append(_Doc("command line", overrides, {}))
    merged: dict[str, Any] = {}
    for doc in docs:
        merged = deep_merge(merged, doc.data if doc is defaults else _own_sources(doc.data, doc.file))

    def where(loc: Loc) -> tuple[str, int | None]:
        for doc in reversed(docs):
            for n in range(len(loc), 0, -1):
                if loc[:n] in doc.lines:
                    return doc.file, doc.lines[loc[:n]]
        return docs[-1].file, None

    try:
        return CostInputs.model_validate_json(json.dumps(merged), strict=True)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            ctx_err = (e.get("ctx") or {}).get("error")
            if isinstance(ctx_err, _RangeError):
                for key, rule in ctx_err.bad:
                    loc = (*key.split("."), "value")
                    file, line = where(loc)
                    problems.append(Problem(file, loc, f"must be {rule} (got {_value_at(merged, loc)!r})", line))
                continue
            loc = tuple(e["loc"])
            file, line = where(loc)
            problems.append(Problem(file, loc, _message(e), line))
        raise ConfigError(problems) from None


def _own_sources(data: Any, file: str) -> Any:
    """A figure overridden without a ``source`` must not keep the default's source: mark it as the file's."""
    if isinstance(data, dict):
        if "value" in data and "source" not in data:
            return {**data, "source": f"{file} (no source given)"}
        return {k: _own_sources(v, file) for k, v in data.items()}
    return data


def _value_at(data: Any, loc: Loc) -> Any:
    for part in loc:
        data = data[part]
    return data


def _show(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def _message(e: dict[str, Any]) -> str:
    if e["type"] == "extra_forbidden":
        return "unknown key (see kfstack/cost_defaults.yaml for every key)"
    if e["type"] == "missing":
        return "required key is missing (each figure is {value: ..., source: ...})"
    msg = str(e["msg"]).removeprefix("Value error, ")
    if "input" in e and not isinstance(e["input"], (dict, list)):
        msg += f" (got {e['input']!r})"
    return msg


# --- the model ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizing:
    """What is priced: GPUs of steady capacity and the 8-GPU units they need.

    ``gpus`` counts physical GPUs; ``servers``/``instances`` round up to whole units;
    ``pools`` names where the GPUs come from (``"<pool>: 4 x 8 <product>"``) or the defaults.
    """

    gpus: int
    servers: int
    instances: int
    source: str
    pools: tuple[str, ...] = ()
    products: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    """One way to buy the capacity: its cost lines and monthly cumulative cost (US dollars).

    ``lines`` maps a line name (``compute``, ``hardware``, ``colocation``, ``power``, ``staff``,
    ``cloud_burst``, ``cloud_storage``, ``cloud_egress``) to its total over the horizon;
    ``cumulative_usd[m]`` is the money spent by the end of month ``m`` (index 0 = up-front).
    """

    key: str
    label: str
    short: str
    lines: dict[str, float]
    cumulative_usd: tuple[float, ...]
    note: str = ""

    @property
    def total_usd(self) -> float:
        """Total over the horizon, US dollars."""
        return round(sum(self.lines.values()), 2)


@dataclass(frozen=True)
class BreakEven:
    """On-prem against one cloud option.

    ``utilization``: share of hours the capacity must be busy for on-prem to cost no more than
    that option's hourly rate for the same GPU-hours (> 1 means never). ``month``: first month
    at which on-prem's cumulative cost is at or below the option's, None if not within the horizon.
    """

    against: str
    utilization: float
    month: int | None

    @property
    def reachable(self) -> bool:
        """Whether some utilization <= 100 % makes on-prem the cheaper choice."""
        return self.utilization <= 1.0


@dataclass(frozen=True)
class CostReport:
    """The comparison: sizing, every option, break-even figures and a plain verdict."""

    inputs: CostInputs
    sizing: Sizing
    options: tuple[Option, ...]
    break_even: tuple[BreakEven, ...]
    env: str | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def option(self, key: str) -> Option:
        """The option named ``key`` (on_demand, reserved, on_prem, hybrid)."""
        return next(o for o in self.options if o.key == key)

    @property
    def months(self) -> int:
        """Months in the horizon."""
        return self.inputs.horizon_years.value * 12

    @property
    def verdict(self) -> list[str]:
        """Plain sentences: the cheapest option and how on-prem compares with reserved and on-demand cloud."""
        years = self.inputs.horizon_years.value
        ranked = sorted(self.options, key=lambda o: o.total_usd)
        cheapest = ranked[0]
        onprem, reserved = self.option("on_prem"), self.option("reserved")
        out = [f"Cheapest over {years} years: {cheapest.label} ({usd(cheapest.total_usd)})."]
        diff = onprem.total_usd - reserved.total_usd
        if diff > 0:
            out.append(f"Reserved cloud is cheaper than on-prem over {years} years, by {usd(diff)} "
                       f"({diff / onprem.total_usd:.0%} of on-prem's cost): on-prem does not pay off against "
                       "a reservation at these figures, at any utilization.")
        else:
            out.append(f"On-prem is cheaper than reserved cloud over {years} years, by {usd(-diff)}.")
        od = next(b for b in self.break_even if b.against == "on_demand")
        if od.reachable:
            out.append(f"Against on-demand cloud, on-prem pays off when the GPUs are busy more than "
                       f"{od.utilization:.1%} of the time.")
        else:
            out.append(f"Against on-demand cloud, on-prem never pays off (it would need {od.utilization:.0%} "
                       "utilization).")
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``kfstack cost --format json``)."""
        return {
            "environment": self.env,
            "horizon_years": self.inputs.horizon_years.value,
            "currency": "USD",
            "sizing": {"gpus": self.sizing.gpus, "servers": self.sizing.servers, "instances": self.sizing.instances,
                       "source": self.sizing.source, "pools": list(self.sizing.pools)},
            "options": [{"key": o.key, "label": o.label, "total_usd": o.total_usd,
                         "lines_usd": {k: round(v, 2) for k, v in o.lines.items()}, "note": o.note,
                         "cumulative_usd": [round(c, 2) for c in o.cumulative_usd]} for o in self.options],
            "break_even": [{"against": b.against, "utilization": round(b.utilization, 4),
                            "reachable": b.reachable, "month": b.month} for b in self.break_even],
            "verdict": self.verdict,
            "warnings": list(self.warnings),
            "inputs": self.inputs.flat(),
        }


def usd(amount: float) -> str:
    """``861195.6`` → ``$861,196``; ``1_729_000`` → ``$1,729,000``."""
    return f"${amount:,.0f}"


def size_from_env(env: "EnvironmentConfig", inputs: CostInputs) -> Sizing:
    """GPUs of every GPU pool of ``env`` (physical GPUs: ``count x gpu.per_node``), in whole 8-GPU units.

    Raises:
        ValueError: the environment has no GPU pool.
    """
    pools = [p for p in env.node_pools if p.gpu is not None]
    if not pools:
        raise ValueError(f"environment {env.name!r} has no GPU pool to size the comparison from")
    gpus = sum(p.count * p.gpu.per_node for p in pools)  # type: ignore[union-attr]
    return Sizing(gpus=gpus,
                  servers=math.ceil(gpus / inputs.on_prem.gpus_per_server.value),
                  instances=math.ceil(gpus / inputs.cloud.gpus_per_instance.value),
                  source=f"environments/{env.name}.yaml GPU pools",
                  pools=tuple(f"{p.name}: {p.count} x {p.gpu.per_node} {p.gpu.product}" for p in pools),  # type: ignore[union-attr]
                  products=tuple(sorted({p.gpu.product for p in pools})))  # type: ignore[union-attr]


def size_from_inputs(inputs: CostInputs) -> Sizing:
    """Sizing from ``capacity.gpus`` (the design's example: 8 GPUs, one server)."""
    gpus = inputs.capacity.gpus.value
    return Sizing(gpus=gpus, servers=math.ceil(gpus / inputs.on_prem.gpus_per_server.value),
                  instances=math.ceil(gpus / inputs.cloud.gpus_per_instance.value), source="capacity.gpus")


def _cumulative(upfront: float, monthly: float, months: int) -> tuple[float, ...]:
    return tuple(upfront + monthly * m for m in range(months + 1))


def estimate(inputs: CostInputs, env: "EnvironmentConfig | None" = None) -> CostReport:
    """Price every option for ``env``'s GPU pools (or ``capacity.gpus``) over the horizon.

    Raises:
        ValueError: ``env`` has no GPU pool.
    """
    sizing = size_from_env(env, inputs) if env is not None else size_from_inputs(inputs)
    years = inputs.horizon_years.value
    months = years * 12
    hours = inputs.hours_per_year.value * years
    util = inputs.capacity.utilization.value
    c, p, h, d = inputs.cloud, inputs.on_prem, inputs.hybrid, inputs.data
    data_lines = {"cloud_storage": d.cloud_storage_per_month_usd.value * months,
                  "cloud_egress": d.cloud_egress_per_month_usd.value * months}
    data_lines = {k: v for k, v in data_lines.items() if v}
    data_monthly = sum(data_lines.values()) / months

    def cloud(key: str, label: str, short: str, rate: float, busy: float, note: str) -> Option:
        compute = rate * hours * busy * sizing.instances
        return Option(key, label, short, {"compute": compute, **data_lines},
                      _cumulative(0.0, compute / months + data_monthly, months), note)

    def on_prem_lines(servers: int) -> dict[str, float]:
        return {"hardware": p.hardware_per_server_usd.value * servers,
                "colocation": p.colocation_per_server_per_month_usd.value * months * servers,
                "power": p.power_per_server_per_month_usd.value * months * servers,
                "staff": p.ops_fte.value * p.fte_cost_per_year_usd.value * years}

    def on_prem_cumulative(lines: dict[str, float], extra_monthly: float = 0.0) -> tuple[float, ...]:
        return _cumulative(lines["hardware"], (sum(lines.values()) - lines["hardware"]) / months + extra_monthly,
                           months)

    it = c.instance_type.value
    on_demand = cloud("on_demand", "Cloud on demand", "on demand", c.on_demand_per_hour_usd.value, util,
                      f"{sizing.instances} x {it} at ${c.on_demand_per_hour_usd.value}/h, {util:.0%} of hours")
    reserved = cloud("reserved", "Cloud reserved", "reserved", c.reserved_per_hour_usd.value, 1.0,
                     f"{sizing.instances} x {it} at ${c.reserved_per_hour_usd.value}/h, every hour of the term")
    op_lines = on_prem_lines(sizing.servers)
    on_prem = Option("on_prem", "On-prem", "on-prem", op_lines, on_prem_cumulative(op_lines),
                     f"{sizing.servers} x {p.gpus_per_server.value}-GPU server, {p.ops_fte.value} FTE")

    peak_gpus = math.ceil(sizing.gpus * h.peak_factor.value)
    burst_instances = math.ceil(max(0, peak_gpus - sizing.gpus) / c.gpus_per_instance.value)
    burst = c.on_demand_per_hour_usd.value * h.peak_hours_per_year.value * years * burst_instances
    hy_lines = {**op_lines, "cloud_burst": burst, **data_lines}
    peak_servers = math.ceil(peak_gpus / p.gpus_per_server.value)
    all_peak = sum(on_prem_lines(peak_servers).values())
    hybrid = Option("hybrid", "Hybrid (on-prem base + cloud burst)", "hybrid", hy_lines,
                    on_prem_cumulative(hy_lines, 0.0),
                    f"peak {peak_gpus} GPUs for {h.peak_hours_per_year.value:g} h/y: {burst_instances} x {it} "
                    f"on demand; on-prem sized for the peak ({peak_servers} servers) would cost {usd(all_peak)}")

    break_even = []
    for opt, rate in ((on_demand, c.on_demand_per_hour_usd.value), (reserved, c.reserved_per_hour_usd.value)):
        # on-prem total = rate x hours x u x units + data lines  →  solve for u
        full = rate * hours * sizing.instances
        u = (on_prem.total_usd - sum(data_lines.values())) / full if full else math.inf
        month = next((m for m in range(months + 1) if on_prem.cumulative_usd[m] <= opt.cumulative_usd[m]), None)
        break_even.append(BreakEven(opt.key, u, month))

    warnings = []
    if sizing.products and any("A100" not in prod for prod in sizing.products):
        warnings.append(f"GPU products {', '.join(sizing.products)}: the cloud prices are for {it} "
                        "(A100); give prices for a matching instance with --inputs")
    return CostReport(inputs, sizing, (on_demand, reserved, on_prem, hybrid), tuple(break_even),
                      env=env.name if env is not None else None, warnings=tuple(warnings))


# --- output ------------------------------------------------------------------------------------------------

_LINE_LABELS = {"compute": "compute", "hardware": "hardware", "colocation": "colocation", "power": "power",
                "staff": "staff", "cloud_burst": "cloud burst", "cloud_storage": "cloud storage",
                "cloud_egress": "cloud egress"}


def render_table(report: CostReport):
    """A rich Table: one column per option, one row per cost line, then the total and the difference to the cheapest."""
    from rich.table import Table

    years = report.inputs.horizon_years.value
    s = report.sizing
    title = (f"{years}-year cost of {s.gpus} GPUs ({s.servers} server{'s' if s.servers != 1 else ''} / "
             f"{s.instances} {report.inputs.cloud.instance_type.value})"
             + (f", environment {report.env}" if report.env else ", default inputs"))
    keys = [k for k in _LINE_LABELS if any(k in o.lines for o in report.options)]
    table = Table(title=title, title_justify="left")
    table.add_column("US dollars")
    for o in report.options:
        table.add_column(o.short, justify="right")
    for k in keys:
        table.add_row(_LINE_LABELS[k], *(usd(o.lines[k]) if k in o.lines else "–" for o in report.options))
    table.add_section()
    table.add_row(f"{years}-year total", *(usd(o.total_usd) for o in report.options), style="bold")
    cheapest = min(o.total_usd for o in report.options)
    table.add_row("vs cheapest", *("cheapest" if o.total_usd == cheapest else f"+{usd(o.total_usd - cheapest)}"
                                   for o in report.options))
    return table


def render_text(report: CostReport) -> list[str]:
    """Lines under the table: notes, break-even utilizations, verdict, warnings."""
    out = [f"  {o.label}: {o.note}" for o in report.options]
    out.append("Break-even utilization of on-prem (share of hours the GPUs must be busy):")
    for b in report.break_even:
        name = {"on_demand": "vs on demand", "reserved": "vs reserved"}[b.against]
        when = (f"{b.utilization:.1%}" if b.reachable else f"never ({b.utilization:.0%} needed)")
        util = report.inputs.capacity.utilization.value
        month = (f"; at {util:.0%} utilization cumulative costs cross in month {b.month}" if b.month is not None
                 else f"; at {util:.0%} utilization cumulative costs do not cross within {report.months} months")
        out.append(f"  {name}: {when}{month}")
    out.extend(report.verdict)
    out.extend(f"warning: {w}" for w in report.warnings)
    return out


def write_plot(report: CostReport, path: Path) -> None:
    """A line chart of cumulative cost by month for every option (format from ``path``'s suffix: png, svg, pdf)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(9, 5.5))
    months = list(range(report.months + 1))
    for o in report.options:
        ax.plot(months, o.cumulative_usd, label=f"{o.label}: {usd(o.total_usd)}", linewidth=2)
    ax.set_xlabel("month")
    ax.set_ylabel("cumulative cost (US dollars)")
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"${v / 1000:,.0f}k"))
    ax.set_xlim(0, report.months)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    s = report.sizing
    ax.set_title(f"{report.inputs.horizon_years.value}-year cost of {s.gpus} GPUs"
                 + (f" (environment {report.env})" if report.env else " (default inputs)"))
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, metadata={"Date": None} if path.suffix.lower() == ".svg" else None)
    plt.close(fig)
