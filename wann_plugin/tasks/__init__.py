"""Things a network is judged on. Importing this package registers the built-in tasks."""

from wann_plugin.tasks.base import (
    TASKS,
    Task,
    TaskError,
    UnknownTaskError,
    check_task,
    make_task,
    register_task,
)

__all__ = ["TASKS", "Task", "TaskError", "UnknownTaskError", "check_task", "make_task",
           "register_task"]
