"""What both services run alike: error rendering, request ids, logs and metrics."""
