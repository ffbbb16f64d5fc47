//! Collectors: everything that reads telemetry from the outside world into the engine's model.
