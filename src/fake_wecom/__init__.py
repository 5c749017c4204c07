"""A stateful fake WeCom server for tests and the demo; never imported by the siyu package."""
