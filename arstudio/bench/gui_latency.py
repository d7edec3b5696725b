"""``arstudio bench gui_latency``: the window's event-loop latency while training and
its cold start. The measurement drives Qt, so it lives in arstudio/gui/latency_bench.py;
this entry only forwards to it, keeping the core free of Qt imports."""


def main(argv=None) -> int:
    from arstudio.gui.latency_bench import main as run

    return run(argv)
