"""The task registry (only registered functions ever run) and the built-in example tasks."""
