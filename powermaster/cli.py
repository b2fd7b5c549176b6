"""The ``power-master`` command."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

from flowengine import InvalidFlows, RealClock, default_registry, load_flow_files
from flowengine.atomic import write_atomic
from flowengine.flowtest import run_tests
from flowengine.graph import to_dot, to_mermaid
from flowengine.local import local_types
from flowengine.loop import run as run_loop
from flowengine.node import FLOW_LOG, ContextKey
from flowengine.schema import editor_schema
from flowengine.yamlsource import read_yaml_text
from flows import FLOWS_DIR, SITE_CONFIG
from powermaster import logs
from powermaster.backtest.builder import SAMPLE_FIRST, Kind, sample_scenario
from powermaster.backtest.capture import capture
from powermaster.backtest.days import by_day
from powermaster.backtest.optimum import optimum
from powermaster.backtest.runner import baseline_soc_final, progress_bar, run_backtest
from powermaster.backtest.scenario import Scenario, load_scenario
from powermaster.config import SITE_SCHEMA, load_site_config
from powermaster.datadir import default_data_dir
from powermaster.editor import FLOW_SCHEMA_FILE, SITE_SCHEMA_FILE, write_schemas
from powermaster.flowtests import harness
from powermaster.nodedocs import node_reference
from powermaster.service import NOT_FLOW_FILES, Options, Service, site_config_for
from powermaster.sim.reporter import report_changes
from powermaster.simulator import inverter_server, site_model
from ui.auth import PasswordError, write_password


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logs.configure(logging.INFO if getattr(args, "verbose", False) else logging.WARNING)
    logging.getLogger("power_master").setLevel(logging.INFO)
    # What a flow's core.log node writes shows at info; its debug lines with -v.
    verbose = getattr(args, "verbose", False)
    logging.getLogger(FLOW_LOG).setLevel(logging.DEBUG if verbose else logging.INFO)
    result: int = args.func(args)
    return result


class _ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, unless the help says it in words
    (an option that has no value by default) or the option is required."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help = action.help or ""
        if "(default:" in help or action.required or action.default is None:
            return help
        return super()._get_help_string(action)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="power-master",
        description="Runs a home's solar, battery and loads for the lowest bill.",
        formatter_class=_ShowDefaults,
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the service (the demo site when no inverter is given)")
    run.add_argument(
        "--config",
        type=Path,
        help="site config YAML (default: the --flows directory's site.yaml if it has one, "
        "else the data directory's copy of the shipped demo's, made on the first start)",
    )
    run.add_argument(
        "--flows",
        type=Path,
        default=FLOWS_DIR,
        help="directory of flow files (a copy of flows/ to run your own); edits to it and to "
        "the site config are validated and applied while it runs",
    )
    run.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="where the database and state live (and the demo's copy of its site config)",
    )
    run.add_argument("--host", default="127.0.0.1", help="web UI address (0.0.0.0 for the LAN)")
    run.add_argument("--port", type=int, default=8080, help="web UI port")
    run.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="run time this many times faster (demo: 300 = 5 min a second)",
    )
    run.add_argument(
        "--inverter",
        metavar="HOST:PORT",
        help="use this inverter instead of the simulator: its gateway (inverter.transport "
        "says how it speaks), or a serial device such as /dev/ttyUSB0 (default: the simulator)",
    )
    run.add_argument(
        "--simulator-port",
        type=int,
        default=5020,
        help="the simulated inverter's port, when no --inverter is given",
    )
    run.add_argument(
        "--shadow",
        action="store_true",
        help="shadow mode (control.mode: shadow): read, plan, decide and show what it would "
        "command, and write nothing to the inverter",
    )
    run.add_argument(
        "--mqtt",
        metavar="HOST:PORT",
        help="MQTT broker (Home Assistant's Mosquitto...), over site.yaml's mqtt section "
        "(default: that section's)",
    )
    run.add_argument(
        "-v", "--verbose", action="store_true", help="log at info, flows' debug lines too"
    )
    run.set_defaults(func=_run)

    password = sub.add_parser(
        "set-password",
        help="set the web UI's password, read from standard input (for scripted installs)",
    )
    password.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help="the same data directory as run's",
    )
    password.set_defaults(func=_set_password)

    simulate = sub.add_parser("simulate", help="run the simulated Fox KH inverter on its own")
    simulate.add_argument(
        "--config",
        type=Path,
        default=SITE_CONFIG,
        help="site config YAML (its battery, PV and inverter)",
    )
    simulate.add_argument("--host", default="127.0.0.1", help="address to listen on")
    simulate.add_argument("--port", type=int, default=5020, help="port to listen on")
    simulate.add_argument(
        "--speed", type=float, default=1.0, help="run time this many times faster"
    )
    simulate.add_argument(
        "--transport",
        choices=("tcp", "rtu_over_tcp", "udp"),
        default="tcp",
        help="listen as this kind of gateway (site.yaml's inverter.transport)",
    )
    simulate.set_defaults(func=_simulate)

    backtest = sub.add_parser(
        "backtest", help="run the real flows against a scenario on virtual time"
    )
    backtest.add_argument(
        "scenario",
        type=Path,
        nargs="?",
        help="scenario JSON (format: docs/backtest.md); or --sample",
    )
    backtest.add_argument(
        "--sample",
        metavar="DAYS",
        type=_days,
        help="a ready scenario of this many days (3d, or 3) on the shipped sample data: "
        "Amber SA prices with forecasts that err, the Brisbane home's load and PV; scored "
        "against the optimum, day by day (default: none; give a scenario file instead)",
    )
    backtest.add_argument(
        "--from",
        dest="first",
        metavar="DATE",
        type=date.fromisoformat,
        help="the sample's first day (default: 2025-02-03, a summer Monday)",
    )
    backtest.add_argument(
        "--perfect", action="store_true", help="the sample with perfect forecasts instead"
    )
    backtest.add_argument(
        "--out",
        type=Path,
        help="where to write the result JSON (default: nowhere; needed with a scenario file)",
    )
    backtest.add_argument("--flows", type=Path, default=FLOWS_DIR, help="directory of flow files")
    backtest.add_argument("--quiet", action="store_true", help="no progress bar")
    backtest.set_defaults(func=_backtest)

    validate = sub.add_parser("validate", help="check flow files and the site config")
    validate.add_argument("paths", nargs="+", type=Path, help="files or directories")
    validate.set_defaults(func=_validate)

    test = sub.add_parser("test", help="run the flow tests (*.test.yaml) on virtual time")
    test.add_argument("paths", nargs="+", type=Path, help="test files or directories")
    test.add_argument(
        "-k",
        metavar="TEXT",
        dest="keyword",
        help="only tests whose file or name holds TEXT (default: every test)",
    )
    test.add_argument(
        "-v", dest="traces", action="store_true", help="show each failing test's runs and log lines"
    )
    test.set_defaults(func=_test)

    nodes = sub.add_parser("nodes", help="list node types and their config")
    nodes.add_argument("--json", action="store_true", help="as JSON")
    nodes.add_argument(
        "--markdown", action="store_true", help="as the Markdown reference (docs/nodes.md)"
    )
    nodes.set_defaults(func=_nodes)

    schema = sub.add_parser("schema", help="print the JSON Schema of flow files (for editors)")
    schema.add_argument("--site", action="store_true", help="the site config's schema instead")
    schema.add_argument(
        "--write",
        type=Path,
        metavar="DIR",
        help=f"write {FLOW_SCHEMA_FILE} and {SITE_SCHEMA_FILE} into DIR (a flows folder; "
        "its files name them in their yaml-language-server comment) (default: print the "
        "flow files' schema)",
    )
    schema.set_defaults(func=_schema)

    graph = sub.add_parser("graph", help="draw a flow as Mermaid or DOT")
    graph.add_argument("flow", help="a flow id or a flow file")
    graph.add_argument(
        "--format",
        choices=["mermaid", "dot"],
        default="mermaid",
        help="Mermaid (for Markdown) or Graphviz DOT",
    )
    graph.add_argument(
        "--flows",
        type=Path,
        default=FLOWS_DIR,
        help="directory of flow files, where FLOW is looked up by id",
    )
    graph.set_defaults(func=_graph)
    for command in sub.choices.values():
        command.formatter_class = _ShowDefaults
    return parser


def run_options(args: argparse.Namespace) -> Options:
    return Options(
        config=args.config or site_config_for(args.flows, args.data_dir),
        flows=args.flows,
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        speed=args.speed,
        inverter=args.inverter,
        simulator_port=args.simulator_port,
        mqtt=args.mqtt,
        watch=True,
        shadow=args.shadow,
    )


def _run(args: argparse.Namespace) -> int:
    options = run_options(args)
    try:
        service = Service(options)
    except (InvalidFlows, ValueError) as exc:
        print(exc, file=sys.stderr)
        print(
            f"Power Master did not start: {options.config} is refused and no earlier "
            f"version of it ever loaded from {options.data_dir}. Put it right and start "
            "again (power-master validate checks it).",
            file=sys.stderr,
        )
        return 2
    if options.inverter and options.speed != 1:
        print(
            f"warning: --speed {options.speed:g} with --inverter: the inverter's watchdog and "
            "the control tick run that much faster than the inverter's own time; a real "
            "inverter (or a separate simulator) wants real time (--speed 1). --speed is for "
            "the built-in demo.",
            file=sys.stderr,
            flush=True,
        )
    print(f"Power Master: http://{args.host}:{args.port}/  (Ctrl-C stops)", flush=True)
    auth = service.auth
    if auth is not None and not auth.password_set:
        print(
            f"First start: sign in with the one-time password {auth.one_time_password} "
            "and choose your own (or: power-master set-password)",
            flush=True,
        )
    try:
        run_loop(service.run_forever())
    except KeyboardInterrupt:
        pass
    return 0


def _set_password(args: argparse.Namespace) -> int:
    """The first line of standard input becomes the UI's password (its scrypt hash is
    written to <data dir>/ui-password; sessions of a running service end at its restart)."""

    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    try:
        path = write_password(args.data_dir, password)
    except PasswordError as exc:
        print(f"password not set: {exc}", file=sys.stderr)
        return 2
    print(f"password set ({path})")
    return 0


def _days(text: str) -> int:
    """``3d`` or ``3``: a whole number of days."""
    days = text.removesuffix("d")
    if not days.isdigit() or int(days) < 1:
        raise argparse.ArgumentTypeError(f"a number of days like 3d, not {text!r}")
    return int(days)


def _backtest(args: argparse.Namespace) -> int:
    # The simulated site's own log (its health, its dropped re-plans at 1000x speed) is
    # not the owner's: only errors show, beside the progress bar and the figures.
    for name in ("", "power_master", logs.NODE_LOG, FLOW_LOG):
        logging.getLogger(name).setLevel(logging.ERROR)
    if (args.scenario is None) == (args.sample is None):
        print("backtest: give a scenario file or --sample DAYS (one of them)", file=sys.stderr)
        return 2
    if args.scenario is not None and args.out is None:
        print("backtest: --out RESULT.json is needed with a scenario file", file=sys.stderr)
        return 2
    try:
        scenario: Scenario = (
            load_scenario(args.scenario) if args.scenario is not None else _sample(args)
        )
    except (OSError, ValueError) as exc:
        print(f"{args.scenario or 'backtest --sample'}: {exc}", file=sys.stderr)
        return 2
    progress = None if args.quiet else progress_bar()
    result = run_loop(run_backtest(scenario, args.flows, progress, attribution=True))
    if args.out is not None:
        write_atomic(args.out, json.dumps(result, indent=1))
    bill, base = result["bill"], result["baselines"]
    print(
        f"{scenario.name}: bill ${bill['net']:.2f} (self-use ${base['self_use']:.2f}, "
        f"no battery ${base['no_battery']:.2f}); {result['ticks']} ticks, "
        f"{result['plans']} plans, {result['wall_seconds']:.1f} s"
    )
    if args.sample is not None:
        print(_scored(scenario, result))
    print(_went(result["attribution"]))
    return 0


def _sample(args: argparse.Namespace) -> Any:
    kind: Kind = "perfect" if args.perfect else "erring"
    return sample_scenario(args.sample, args.first or SAMPLE_FIRST, kind)


def _scored(scenario: Any, result: dict[str, Any]) -> str:
    """The run against the optimum with perfect knowledge: the period, then each day."""
    best = optimum(scenario)
    whole = capture(
        result["baselines"]["self_use"],
        result["bill"]["net"],
        best,
        scenario,
        result["soc_final"],
        baseline_soc_final(scenario),
    )
    price = statistics.median(scenario.import_price)
    lines = [
        f"capture {whole:.3f} (0 = the inverter alone in Self Use, 1 = the optimum with "
        f"perfect knowledge of prices, PV and load: bill ${best.bill:.2f}, ending at SOC "
        f"{best.soc_final:.0%})",
        "day         bill  self-use  optimum  capture  left vs optimum",
    ]
    for day in by_day(scenario, result, best):
        lines.append(
            f"{day.day:%a %d %b} {day.bill_adjusted:6.2f} {day.self_use_adjusted:9.2f} "
            f"{day.optimum_adjusted:8.2f} {day.capture:8.3f} {day.lost_to_optimum:+10.2f}"
        )
    lines.append(
        f"each day's bills in $ less the energy it left in the battery, valued at the "
        f"median import price ({price * 100:.1f} c/kWh)"
    )
    return "\n".join(lines)


def _went(days: list[dict[str, Any]]) -> str:
    """Where each day's money went: its bill against its own optimum, the gap split."""
    lines = [
        "where the money went: each day against the best that day allowed (planning each "
        "half hour, knowing the day), the gap split",
        "day          bill  optimum     gap      PV    load  prices  execution",
    ]
    for day in days:
        name = f"{date.fromisoformat(day['date']):%a %d %b}"
        if day.get("problem") or day.get("gap") is None:
            lines.append(f"{name}  not worked out: {day.get('problem') or 'no bill'}")
            continue
        parts = {key: _cents(value) for key, value in day["parts"].items()}
        lines.append(
            f"{name} {day['actual']['adjusted']:6.2f} {day['optimum']['adjusted']:8.2f} "
            f"{_cents(day['gap']):7.2f} {parts['pv']:7.2f} {parts['load']:7.2f} "
            f"{parts['prices']:7.2f} {parts['execution']:10.2f}"
        )
    lines.append(
        "in $, each less the energy it left in the battery (valued as the planner values "
        "it, at the day's median import price); docs/ledger.md#where-the-money-went"
    )
    return "\n".join(lines)


def _cents(value: float) -> float:
    """To the cent, a zero never printed as -0.00."""
    return round(value, 2) + 0.0


def _simulate(args: argparse.Namespace) -> int:
    settings = load_site_config(args.config)
    # A client that goes away is normal here: not pymodbus's "Cancel send" error each time.
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)

    def say(line: str) -> None:
        print(line, flush=True)

    async def serve() -> None:
        clock = RealClock(args.speed)
        model = site_model(settings, clock)
        server = inverter_server(
            model, clock, args.host, args.port, settings["inverter"]["firmware"], args.transport
        )
        async with server:
            say(
                f"simulated Fox KH on {args.transport} {args.host}:{args.port}, unit 247 "
                "(Ctrl-C stops)"
            )
            # Simulator time at a wall time: t + (wall_now - wall) * speed.
            say(f"clock t={clock.time():.3f} wall={time.time():.6f} speed={args.speed:g}")
            await report_changes(model, clock, say)

    try:
        run_loop(serve())
    except KeyboardInterrupt:
        pass
    except (OSError, RuntimeError) as exc:  # pymodbus: "Could not start listen"
        print(
            f"power-master simulate: cannot listen on {args.transport} {args.host}:"
            f"{args.port} ({exc}): is another simulator or service using that port? "
            "Give another with --port.",
            file=sys.stderr,
        )
        return 2
    return 0


def _test(args: argparse.Namespace) -> int:
    """Flow tests (docs/flow-tests.md), on the standard event loop: its sockets are the ones
    the tests' guard refuses, so nothing reaches the network."""

    summary = asyncio.run(
        run_tests(
            args.paths, harness(), lambda line: print(line, flush=True), args.keyword, args.traces
        )
    )
    return 0 if summary.ok else 1


def _validate(args: argparse.Namespace) -> int:
    registry = default_registry()
    flow_files: list[Path] = []
    problems: list[str] = []
    checked = 0
    for path in args.paths:
        if path.is_dir():  # the folder's own node types (nodes/*.py) come with it
            registry, refused = local_types(registry, path)
            problems.extend(str(p) for p in refused)
        files = sorted(path.glob("*.yaml")) if path.is_dir() else [path]
        for file in files:
            if file.name.endswith(".test.yaml") or file.name == "secrets.yaml":
                continue
            checked += 1
            if _is_site_config(file):
                try:
                    # The time now: a one-off SOC target already past is said too.
                    load_site_config(file, now=time.time())
                except InvalidFlows as exc:
                    problems.extend(str(p) for p in exc.problems)
            else:
                flow_files.append(file)
    try:
        # A folder given is a whole application: every key read must have a writer.
        whole = any(path.is_dir() for path in args.paths)
        load_flow_files(flow_files, registry, complete=whole)
    except InvalidFlows as exc:
        problems.extend(str(p) for p in exc.problems)
    for problem in problems:
        print(problem)
    if problems:
        print(f"{len(problems)} problem(s) in {checked} file(s)", file=sys.stderr)
        return 1
    print(f"ok: {checked} file(s) valid")
    return 0


def _is_site_config(file: Path) -> bool:
    """Site configs are told apart from flow files by having neither 'flow' nor 'connections'."""
    if file.name == "site.yaml":
        return True
    try:
        text = read_yaml_text(file)
    except (OSError, ValueError):  # not readable as YAML: validation says why, as a flow file
        return False
    keys = {line.split(":", 1)[0] for line in text.splitlines() if line and line[0].isalpha()}
    flow_keys = {"flow", "connections", "nodes", "triggers", "context", "use_blueprint"}
    return bool(keys) and not keys & flow_keys


def context_key(key: ContextKey) -> dict[str, str]:
    return {"key": f"global.{key.key}", "about": key.about, "option": key.option}


def _nodes(args: argparse.Namespace) -> int:
    registry = default_registry()
    if args.markdown:
        print(node_reference(registry), end="")
        return 0
    if args.json:
        print(
            json.dumps(
                {
                    name: {
                        "description": kind.description,
                        "takes": kind.takes,
                        "gives": kind.gives,
                        "reads": [context_key(k) for k in kind.reads],
                        "writes": [context_key(k) for k in kind.writes],
                        "config": kind.config_schema,
                    }
                    for name, kind in sorted(registry.nodes.items())
                },
                indent=2,
            )
        )
        return 0
    for name, kind in sorted(registry.nodes.items()):
        print(f"{name}\n    {kind.description}")
        print(f"    takes: {kind.takes}")
        for port, what in kind.gives.items():
            print(f"    gives ({port}): {what}")
        for word, keys in (("reads", kind.reads), ("writes", kind.writes)):
            for key in keys:
                renamed = f" (or another with {key.option})" if key.option else ""
                print(f"    {word} global.{key.key}{renamed}: {key.about}")
        properties = kind.config_schema.get("properties", {})
        required = set(kind.config_schema.get("required", []))
        for key, prop in properties.items():
            mark = " (required)" if key in required else ""
            about = prop.get("description", "")
            kinds = prop.get("type") or (
                "one of " + ", ".join(map(str, prop["enum"])) if "enum" in prop else "any"
            )
            print(f"    config {key}{mark}: {kinds}{' - ' + about if about else ''}")
        print()
    for name, conn in sorted(registry.connections.items()):
        print(f"{name} (connection)\n    {conn.description}\n")
    return 0


def _schema(args: argparse.Namespace) -> int:
    if args.write is not None:
        for path in write_schemas(args.write):
            print(f"wrote {path}")
        return 0
    schema = SITE_SCHEMA if args.site else editor_schema(default_registry())
    print(json.dumps(schema, indent=2))
    return 0


def _graph(args: argparse.Namespace) -> int:
    """Draw a flow, named by its id (in --flows) or by its file: the file's folder is
    loaded with it, so its connections and error flow are found where they are."""
    target = Path(args.flow)
    is_file = target.suffix in (".yaml", ".yml") and target.exists()
    folder = target.resolve().parent if is_file else args.flows
    registry, refused = local_types(default_registry(), folder)
    files = [
        f
        for f in sorted(folder.glob("*.yaml"))
        if f.name not in NOT_FLOW_FILES and not f.name.endswith(".test.yaml")
    ]
    try:
        if refused:
            raise InvalidFlows(refused)
        flowset = load_flow_files(files, registry)
    except InvalidFlows as exc:
        print(exc, file=sys.stderr)
        return 1
    if is_file:
        chosen = next(
            (f for f in flowset.flows.values() if Path(f.file).resolve() == target.resolve()),
            None,
        )
    else:
        chosen = flowset.flows.get(args.flow)
    if chosen is None:
        print(f"no flow '{args.flow}'; flows: {', '.join(flowset.flows)}", file=sys.stderr)
        return 1
    print(to_mermaid(chosen) if args.format == "mermaid" else to_dot(chosen), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
