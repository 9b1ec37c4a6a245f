"""``kiosk fleet``: the county administrator's commands for signed fleet configuration.

``init`` makes the TUF repository and keys, ``publish`` signs a document and starts its rollout,
``status`` shows rollouts and kiosks, ``pause|resume|abort`` steer a rollout, ``rotate-key``
replaces a key, ``tick`` runs one pass of the rollout controller (the platform runs it by itself).
They work on the platform's database (``--db``, default: the backend's database in the data folder).
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from kiosk.errors import DeviceFailure, UsageError

_DURATION = re.compile(r"^([0-9]+)([smhd]?)$")


def _duration(text: str) -> int:
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"expected a duration like 90s, 10m, 2h, got {text!r}")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def _share(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") or float(text.rstrip("%")) > 1 else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share like 20% or 0.2, got {text!r}") from None
    return value


def _percents(text: str) -> list[int]:
    try:
        return [int(p.strip().rstrip("%")) for p in text.split(",") if p.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected percentages like 10,50,100, got {text!r}") from None


def register(parsers) -> None:
    p = parsers.top.add_parser("fleet", help="administrator: signed configuration for every kiosk")
    p.add_argument("--db", default=None, metavar="URL",
                   help="the platform's database (default: backend.sqlite3 in the data folder)")
    sub = p.add_subparsers(dest="fleet_command", metavar="ACTION")
    sub.required = True

    init = sub.add_parser("init", help="create the fleet's TUF repository and keys")
    init.add_argument("--dir", dest="fleet_dir", default=None,
                      help="fleet directory on the platform (default: fleet/ in the data folder)")
    init.add_argument("--keys", required=True, help="folder for the offline root and targets keys (a USB stick)")
    init.add_argument("--mqtt", default="", metavar="URL", help="notice broker, mqtt://host:port")
    init.set_defaults(func=cmd_init)

    publish = sub.add_parser("publish", help="check, sign and roll out a configuration document")
    publish.add_argument("document", help="TOML document with a [document] header (scope, version)")
    publish.add_argument("--keys", required=True, help="folder holding targets.pem")
    publish.add_argument("--canary", default=None, help="kiosk id that gets it first")
    publish.add_argument("--no-canary", action="store_true", help="no canary wave: the first wave opens at once")
    publish.add_argument("--waves", type=_percents, default=[10, 50, 100],
                         help="cumulative shares after the canary (default 10,50,100)")
    publish.add_argument("--soak", type=_duration, default=600, help="time each wave runs before the next (default 10m)")
    publish.add_argument("--halt-at", type=_share, default=0.2,
                         help="halt when this share is unhealthy or rolled back (default 20%%)")
    publish.add_argument("--min-applied", type=_share, default=0.9,
                         help="share of a wave that must apply healthy before the next (default 90%%)")
    publish.set_defaults(func=cmd_publish)

    status = sub.add_parser("status", help="rollouts and kiosks")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=cmd_status)

    for action, text in (("pause", "stop opening new waves"), ("resume", "continue a paused or halted rollout"),
                         ("abort", "return every kiosk to the version before this rollout")):
        control = sub.add_parser(action, help=text)
        control.add_argument("rollout", type=int, help="rollout number (see status)")
        control.set_defaults(func=cmd_control, action=action)

    rotate = sub.add_parser("rotate-key", help="replace the online, targets or root keys")
    rotate.add_argument("role", choices=("online", "targets", "root"))
    rotate.add_argument("--keys", required=True, help="folder holding root-1.pem, root-2.pem, targets.pem")
    rotate.set_defaults(func=cmd_rotate)

    tick = sub.add_parser("tick", help="one pass of the rollout controller (the platform also runs it)")
    tick.set_defaults(func=cmd_tick)

    from kiosk.commands import fleet_admin  # ``kiosk fleet admin``: dashboard accounts
    fleet_admin.register(sub, _fleet)

    agent = sub.add_parser("agent", help="run this kiosk's fleet agent without the touch UI")
    agent.add_argument("--once", action="store_true", help="fetch, apply, report once, then exit")
    agent.add_argument("--platform", default=None, metavar="URL", help="platform URL (default: platform.base_url)")
    agent.add_argument("--token", default=None, help="this kiosk's token (default: platform.token)")
    agent.add_argument("--repository", default=None, metavar="URL",
                       help="TUF repository (default: fleet.repository_url, else PLATFORM/fleet/repository)")
    agent.add_argument("--root", default=None, metavar="FILE", help="trusted root.json (default: fleet.trusted_root)")
    agent.set_defaults(func=cmd_agent)


def _data_dir(args: argparse.Namespace) -> Path:
    from kiosk.config import load_config

    return load_config(args.config_path).paths.data_dir


def _fleet(args: argparse.Namespace):
    from backend.db import Database, DatabaseUnavailable, DatabaseURLError
    from backend.fleet.service import Fleet

    url = args.db
    if url is None:
        data_dir = _data_dir(args)
        if not (data_dir / "backend.sqlite3").exists():
            raise UsageError(f"no platform database in {data_dir}: give --db URL")
        url = f"sqlite:///{data_dir / 'backend.sqlite3'}"
    try:
        db = Database(url)
        db.initialise()
        return Fleet(db)
    except DatabaseURLError as exc:
        raise UsageError(str(exc)) from None
    except DatabaseUnavailable as exc:
        raise (UsageError if url.startswith("sqlite") else DeviceFailure)(str(exc)) from None


def _run(func):
    from backend.fleet.repository import RepositoryError
    from backend.fleet.service import FleetError

    try:
        return func()
    except (FleetError, RepositoryError) as exc:
        raise UsageError(str(exc)) from None


def cmd_init(args: argparse.Namespace) -> int:
    fleet_dir = Path(args.fleet_dir) if args.fleet_dir else _data_dir(args) / "fleet"
    if args.mqtt:
        from kiosk.fleet.protocol import broker_address

        try:
            broker_address(args.mqtt)
        except ValueError as exc:
            raise UsageError(f"--mqtt: {exc}") from None
    fleet = _fleet(args)
    repo = _run(lambda: fleet.init(fleet_dir, Path(args.keys), args.mqtt))
    print(f"fleet repository created in {repo.dir}")
    print(f"offline keys (keep them off the platform): {Path(args.keys) / 'root-1.pem'}, root-2.pem, targets.pem")
    print(f"install on every kiosk with its site file: {repo.dir / 'root.json'}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from backend.fleet.service import Plan

    path = Path(args.document)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: file not found") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    fleet = _fleet(args)
    plan = Plan(canary=args.canary, percents=args.waves, soak_s=args.soak, halt_threshold=args.halt_at,
                min_applied=args.min_applied, canary_wave=not args.no_canary)
    result = _run(lambda: fleet.publish(raw, str(path), Path(args.keys), plan))
    print(f"published {result['target']} as rollout {result['rollout']} to {result['kiosks']} kiosk(s)")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    fleet = _fleet(args)
    data = _run(fleet.status)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return 0
    if not data["rollouts"]:
        print("no rollouts")
    for r in data["rollouts"]:
        h = r["health"]
        waves = " ".join(f"[{w['index']}:{w['state']}]" for w in r["waves"])
        print(f"rollout {r['id']}  {r['scope']} v{r['version']} (before: v{r['previous_version'] or '-'})  "
              f"{r['state']}  wave {r['current_wave']}  {waves}")
        print(f"    applied healthy in current wave {h['applied_current']}/{h['current_size']}, "
              f"bad {h['bad']}/{h['opened']}  — {r['reason']}")
    print()
    print(f"{'kiosk':<22}{'town':<12}{'online':<8}{'applied':<28}{'healthy':<9}{'backlog':<9}last heartbeat")
    for k in data["kiosks"]:
        applied = ",".join(f"{s}={v}" for s, v in (k["config_applied"] or {}).items()) or "-"
        healthy = "-" if k["healthy"] is None else ("yes" if k["healthy"] else "NO")
        print(f"{k['id']:<22}{k['town'] or '-':<12}{'yes' if k['online'] else 'no':<8}{applied:<28}"
              f"{healthy:<9}{k['outbox_backlog'] if k['outbox_backlog'] is not None else '-':<9}"
              f"{k['last_heartbeat_at'] or '-'}")
        if k["last_report"] and k["last_report"]["kind"] != "applied":
            rep = k["last_report"]
            print(f"    {rep['kind']} {rep['scope']} v{rep['version']}: {rep['reason']}")
    return 0


def cmd_control(args: argparse.Namespace) -> int:
    fleet = _fleet(args)
    result = _run(lambda: fleet.control(args.rollout, args.action))
    print(f"rollout {result['rollout']} is now {result['state']}")
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    fleet = _fleet(args)
    version = _run(lambda: fleet.rotate_key(args.role, Path(args.keys)))
    print(f"{args.role} key replaced; root is now version {version} (kiosks follow it through TUF)")
    return 0


def cmd_tick(args: argparse.Namespace) -> int:
    fleet = _fleet(args)
    for line in _run(fleet.tick):
        print(line)
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    """The agent in the foreground: what a kiosk runs beside the app, or a technician runs once."""
    import signal
    import threading
    from urllib.parse import urlsplit

    from kiosk.config import load_config
    from kiosk.fleet.agent import AgentSettings, FleetAgent

    cfg = load_config(args.config_path)
    platform = args.platform or cfg.platform.base_url
    repository = args.repository or cfg.fleet.repository_url or (platform.rstrip("/") + "/fleet/repository" if platform else "")
    root = args.root or cfg.fleet.trusted_root
    for name, url in (("--platform", platform), ("--repository", repository)):
        if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
            raise UsageError(f"{name}: must be an http(s) URL, got {url!r}")
    if not repository:
        raise UsageError("no fleet repository: set fleet.repository_url in the site file or give --platform/--repository")
    if not root or not Path(root).is_file():
        raise UsageError(f"--root: the fleet's root.json is needed (got {root or 'nothing'})")
    settings = AgentSettings.from_config(cfg, args.config_path, repository_url=repository, trusted_root=Path(root),
                                         platform_url=platform or "", token=args.token or cfg.platform.token)
    agent = FleetAgent(settings)
    if args.once:
        agent.refresh()
        agent.try_apply()
        agent.heartbeat()
        agent.flush_reports()
        status = agent.status()
        print(json.dumps({k: status[k] for k in ("active", "staged", "refused", "revision", "last_error")},
                         ensure_ascii=False))
        return 4 if status["last_error"] else 0
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    agent.start()
    print(f"fleet agent for {settings.kiosk_id}: {repository} (Ctrl-C to stop)", flush=True)
    try:
        while not stop.wait(1):
            pass
    finally:
        agent.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
