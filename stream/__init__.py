"""I/O and runtime for distillguard: sources, event parsing, state, sinks and the CLI."""
