"""Ship training histories for bundled models whose recipe retrains quickly on a CPU.

    nice -n 19 env OMP_NUM_THREADS=1 python scripts/bundle_histories.py [KEY ...] [--max-seconds 60]

For each bundled model (default: every one whose card says it trained in at most
--max-seconds on a CPU), its preset is retrained here (``arstudio train --preset KEY
--device cpu``) and the run's curves are written to models/KEY.history.json, but only
when the retrained model's test bits/dim equals the bundled one's within --tolerance:
then the curves are those of the same recipe reaching the same figure (weights agree to
floating-point reordering, not bit for bit). A model whose retraining differs gets no
history. Models bundled later by ``bundle_run`` get the history of their own run.
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

from arstudio.bundled import list_bundled, write_history
from arstudio.paths import BUNDLED_MODELS
from arstudio.presets import PRESETS


def card_cpu_seconds(key: str) -> float | None:
    m = re.search(r"(\d+(?:\.\d+)?) s on cpu", (BUNDLED_MODELS / f"{key}.md").read_text())
    return float(m.group(1)) if m else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("keys", nargs="*")
    ap.add_argument("--max-seconds", type=float, default=60.0)
    ap.add_argument("--tolerance", type=float, default=0.002, help="test bits/dim, retrained vs bundled")
    args = ap.parse_args()
    bundled = {b.key: b for b in list_bundled()}
    keys = args.keys or [k for k in bundled if k in PRESETS and (card_cpu_seconds(k) or 1e9) <= args.max_seconds]
    for key in keys:
        b = bundled[key]
        recorded = b.metadata.get("metrics", {}).get("test_bpd")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / key
            cmd = [sys.executable, "-m", "arstudio", "train", "--preset", key, "--device", "cpu", "--out", str(out),
                   "--quiet"]
            done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{key}: training failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            from arstudio.runs import RunFolder

            events, _ = RunFolder.open(out).events()
            got = next(e for e in reversed(events) if e["event"] == "done").get("test_bpd")
            if got is None or recorded is None or abs(got - recorded) > args.tolerance:
                print(f"{key}: retrained test {got} bits/dim vs bundled {recorded}: no history written")
                continue
            path = write_history(out, key, note=f"the preset {key} retrained on a CPU: test {got:.4f} bits/dim, "
                                                f"bundled {recorded:.4f}")
            import json

            if len(json.loads(path.read_text())["train"]) < 2:  # a closed-form fit: no curve to show
                path.unlink()
                print(f"{key}: no training curve (one solve), no history written")
                continue
            print(f"{key}: {path.name} ({path.stat().st_size:,} bytes), test {got:.4f} vs {recorded:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
