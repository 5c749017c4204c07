"""The synthetic demo brand behind `siyu demo` / `make demo`."""
