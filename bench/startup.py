"""Cold start to the attract screen, and search latency over the whole catalogue.

Prints medians against baselines measured in the same run (this machine is noisy; compare ratios):
- start-up: `kiosk` to its first drawn attract frame vs a bare Kivy app with one Label (goal ≤ 3 s);
- search: 100 queries (Chinese, pinyin initials, full pinyin) through SearchIndex vs a plain
  substring scan of item names (goal ≤ 50 ms each).
Run under a display: `xvfb-run -a -s "-screen 0 1920x1920x24" .venv/bin/python bench/startup.py`.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

KIOSK_PROBE = r"""
import sys, time
from dataclasses import replace
from pathlib import Path
from kiosk import ui_env
from kiosk.config import PathsSection, load_config
work = Path(sys.argv[1])
cfg = load_config(None)
cfg = replace(cfg, paths=PathsSection(data_dir=work / "data", log_dir=work / "log", key_file=work / "key"))
ui_env.prepare(cfg.screen.width, cfg.screen.height, kivy_home=work / "kivy")
from kivy.clock import Clock
from kiosk.app import KioskApp
def started(app):
    def drawn(dt):
        print(time.time(), app.manager.current, flush=True)
        app.stop()
    Clock.schedule_once(drawn, 0)
KioskApp(cfg, on_started=started).run()
"""

BARE_PROBE = r"""
import os, sys, time
os.environ["KIVY_NO_ARGS"] = "1"; os.environ["KIVY_LOG_MODE"] = "PYTHON"; os.environ["KIVY_HOME"] = sys.argv[1]
os.environ["KCFG_GRAPHICS_WIDTH"] = "1080"; os.environ["KCFG_GRAPHICS_HEIGHT"] = "1920"
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.label import Label
class Bare(App):
    def load_kv(self, filename=None):
        return False
    def build(self):
        return Label(text="hello")
    def on_start(self):
        def drawn(dt):
            print(time.time(), "bare", flush=True)
            self.stop()
        Clock.schedule_once(drawn, 0)
Bare().run()
"""


def cold_start(probe: str) -> float:
    with tempfile.TemporaryDirectory() as work:
        t0 = time.time()
        out = subprocess.run([sys.executable, "-c", probe, work], capture_output=True, text=True, timeout=120,
                             cwd=ROOT, env=dict(os.environ))
        if out.returncode != 0:
            raise SystemExit(f"probe failed: {out.stderr[-1500:]}")
        stamp, screen = out.stdout.strip().splitlines()[-1].split()[:2]
        return float(stamp) - t0


def search_latency() -> tuple[list[float], list[float], int]:
    from kiosk.catalogue import SearchIndex, parse_catalogue
    from kiosk.config import load_config
    from kiosk.platform_client import PlatformClient
    from kiosk.services import DEMO_TOKEN, DemoBackend

    with tempfile.TemporaryDirectory() as work:
        kiosk_id = load_config(None).kiosk.id
        demo = DemoBackend(Path(work), kiosk_id)
        demo.start()
        try:
            demo.wait_ready()
            answer = PlatformClient(demo.url, DEMO_TOKEN, kiosk_id).fetch_catalogue()
        finally:
            demo.stop()
    _, items = parse_catalogue(answer.document)
    index = SearchIndex(items)
    words = ["社保", "医保", "养老", "低保", "残疾", "退役", "生育", "宅基地", "补贴", "证明",
             "shbx", "shebao", "yb", "yibao", "dibao", "cjr", "canji", "zjd", "butie", "tyjr"]
    queries = [w[:n] for w in words for n in range(1, 6)][:100]
    ours, naive = [], []
    for q in queries:
        t = time.perf_counter()
        index.search(q)
        ours.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        [i for i in items if q in i.name]
        naive.append((time.perf_counter() - t) * 1000)
    return ours, naive, len(items)


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    if not os.environ.get("DISPLAY"):
        raise SystemExit("needs a display: run under xvfb-run")
    bare = [cold_start(BARE_PROBE) for _ in range(runs)]
    kiosk = [cold_start(KIOSK_PROBE) for _ in range(runs)]
    mb, mk = statistics.median(bare), statistics.median(kiosk)
    print(f"cold start to first frame, median of {runs}:")
    print(f"  bare Kivy app (baseline)   {mb:6.2f} s")
    print(f"  kiosk attract screen       {mk:6.2f} s   ratio {mk / mb:4.2f}x   goal <= 3 s: {'met' if mk <= 3 else 'MISSED'}")
    ours, naive, n = search_latency()
    mo, mn = statistics.median(ours), statistics.median(naive)
    print(f"search over {n} items, {len(ours)} queries:")
    print(f"  substring scan of names (baseline) median {mn:7.3f} ms")
    print(f"  SearchIndex (Chinese + pinyin)     median {mo:7.3f} ms  max {max(ours):7.3f} ms  "
          f"ratio {mo / mn:5.1f}x   goal <= 50 ms: {'met' if max(ours) <= 50 else 'MISSED'}")


if __name__ == "__main__":
    main()
