"""Support for tinynas's tests and benchmarks: contract suites and test helpers."""
