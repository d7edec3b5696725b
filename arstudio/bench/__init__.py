"""Benchmarks: each module ``NAME_*.py`` has ``main(argv)`` and prints its
figures side by side; ``arstudio bench NAME`` runs every module of that name."""
