"""The demo: two integrations, sample WalkMe exports, the demo CRM and the fake-data generator.

Used by `make run` / `make sync`, the tests and the benchmarks; never part of the deployed image
(see .dockerignore).
"""
