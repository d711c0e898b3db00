"""The domain core: tasks, subtasks, hosts and their states, free of HTTP and SQL."""
