"""Seconds per training step of WaveNet ("quick demo" settings) on tones, 1 CPU thread."""
import time, torch
torch.set_num_threads(1)
from arstudio.data import load_dataset
from arstudio.models.registry import get_model_info, build_model
data = load_dataset("tones")
info = get_model_info("wavenet")
model = build_model("wavenet", data.spec, **info.presets["quick demo"])
opt = torch.optim.Adam(model.parameters(), 1e-3)
for batch, crop in [(64, 0), (64, 256), (8, 256)]:
    x = data.train[:batch]
    if crop:
        x = x[:, :crop]
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        loss = model.loss(x); opt.zero_grad(); loss.backward(); opt.step()
        times.append(time.perf_counter() - t0)
    print(f"batch {batch:3d} window {crop or 'whole (2048)':>12}: {min(times):.3f} s/step")
