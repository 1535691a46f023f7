"""Bench rigs: rig descriptions (test_rigs/<rig>/rig.toml), bench procedures that run
on a physical rig or unchanged on an emulated board, results folders and their comparison."""
