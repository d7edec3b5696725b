"""Re-measure the CPU sampling time in bundled models' cards (one thread).

    python scripts/retime_cards.py pixelrnn-row-mnist5k-binary pixelcnn++-mnist5k-binary
"""
import sys

import torch

from arstudio.bundled import retime_card

if __name__ == "__main__":
    torch.set_num_threads(1)
    for key in sys.argv[1:]:
        print(f"{key}: {retime_card(key):.1f} s", flush=True)
