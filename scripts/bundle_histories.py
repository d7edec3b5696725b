"""Retrain bundled models whose recipe is quick on a CPU and ship the run: weights and history.

    nice -n 19 env OMP_NUM_THREADS=1 python scripts/bundle_histories.py [KEY ...] [--max-seconds 60]
    nice -n 19 env OMP_NUM_THREADS=1 python scripts/bundle_histories.py --runs DIR KEY ...

For each bundled model (default: every one whose card says it trained in at most
--max-seconds on a CPU), its preset is retrained here (``arstudio train --preset KEY
--device cpu``), or with ``--runs DIR`` the finished run folder DIR/KEY is taken, and
:func:`arstudio.bundled.bundle_run` ships that run: its final weights, card, examples and
its history (curves and a few sample grids by step, with the weights' content hash). A
history is never attached to weights it did not train: retrained weights replace the old
ones, and every figure recorded from them (the card, the README's quality table) changes
with them; the script prints the README row of each.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from arstudio.bundled import bundle_run, evaluate_bundled, list_bundled
from arstudio.paths import BUNDLED_MODELS
from arstudio.presets import PRESETS


def card_cpu_seconds(key: str) -> float | None:
    m = re.search(r"(\d+(?:\.\d+)?) s on cpu", (BUNDLED_MODELS / f"{key}.md").read_text())
    return float(m.group(1)) if m else None


def readme_row(key: str) -> str:
    b = next(b for b in list_bundled() if b.key == key)
    r = evaluate_bundled(b, "cpu")
    return (f"| {key} | {b.dataset} | {r['parameters']:,} | {r['nats']:.2f} | {r['bpd']:.4f} | "
            f"{r['recorded_bpd']:.4f} | {r['published']} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("keys", nargs="*")
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--runs", type=Path, help="take the finished run folders DIR/KEY instead of retraining")
    args = ap.parse_args()
    bundled = {b.key: b for b in list_bundled()}
    keys = args.keys or [k for k in bundled if k in PRESETS and (card_cpu_seconds(k) or 1e9) <= args.max_seconds]
    for key in keys:
        with tempfile.TemporaryDirectory() as tmp:
            out = args.runs / key if args.runs else Path(tmp) / key
            if not args.runs:
                cmd = [sys.executable, "-m", "arstudio", "train", "--preset", key, "--device", "cpu",
                       "--out", str(out), "--quiet"]
                done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(f"{key}: training failed: {done.stderr.strip().splitlines()[-1:]}")
                    continue
            before = bundled[key].metadata.get("metrics", {}).get("test_bpd") if key in bundled else None
            bundle_run(out, key, grid_n=16)
            history = BUNDLED_MODELS / f"{key}.history.json"
            print(f"{key}: shipped run {out} (test bits/dim was {before}); {history.name} "
                  f"{history.stat().st_size:,} bytes")
            print("  README row:", readme_row(key))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
