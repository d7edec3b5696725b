import os

# Qt tests run without a display; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ARSTUDIO_NO_SYSCHECK", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

# tiny models: one thread beats two (thread hand-off costs more than the maths)
torch.set_num_threads(1)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)
