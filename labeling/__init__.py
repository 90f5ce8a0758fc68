"""The labeling app: data model, services (writes), selectors (reads), views, tasks, commands."""
