"""Running generated simulators: loading, metadata, sweeps and schedulers, inputs, measurements, fits, verify."""
