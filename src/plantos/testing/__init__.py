"""What PlantOS's tests and benchmarks both need, kept with the package because
benchmarks do not import the test suite."""
