"""The Prefect flows (nightly, weekly, watch), their tasks, the config, the command line and the demo."""
