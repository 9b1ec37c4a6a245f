"""``kiosk config check|show``: validate the configuration layers before a restart."""
from __future__ import annotations

import argparse
import json


def register(parsers) -> None:
    p = parsers.top.add_parser("config", help="check or show the effective configuration")
    sub = p.add_subparsers(dest="config_command", metavar="ACTION")
    sub.required = True
    check = sub.add_parser("check", help="validate; exit 2 with one line naming key and file on error")
    check.set_defaults(func=check_config)
    show = sub.add_parser("show", help="print the effective configuration")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=show_config)


def check_config(args: argparse.Namespace) -> int:
    from kiosk.config import load_config

    cfg = load_config(args.config_path)
    print(f"configuration ok ({' → '.join(cfg.sources)}){' — demo profile' if cfg.demo else ''}")
    return 0


def show_config(args: argparse.Namespace) -> int:
    from kiosk.config import as_dict, load_config

    data = as_dict(load_config(args.config_path))
    data["platform"]["token"] = "***" if data["platform"]["token"] else ""
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for section, values in data.items():
            if isinstance(values, dict):
                for key, value in values.items():
                    print(f"{section}.{key} = {value!r}")
    return 0
