"""What ``wann render`` and ``wann show`` share: the task of a network file and its loading.

A network saved by ``wann run`` records its task (``meta.task`` and ``meta.task_options``),
so ``--task`` may be left out for it; a reference ``.out`` file needs ``--task``.
"""

from __future__ import annotations

from wann_plugin.cli._common import CliError, parse_task_options

__all__ = ["load_for_task"]


def load_for_task(path: str, task_name: str | None, task_option: list[str]):
    """``(task, LoadedNetwork)`` for a network file and the ``--task`` options.

    Raises
    ------
    CliError
        A ``.out`` file (or a JSON without a recorded task) and no ``--task``.
    """
    from wann_plugin.io import load_network
    from wann_plugin.tasks import make_task

    options = parse_task_options(task_option)
    if task_name is None:
        with open(path, "rb") as f:
            is_json = f.read(64).lstrip().startswith(b"{")
        meta = load_network(path).meta if is_json else {}
        task_name = meta.get("task")
        if not task_name:
            raise CliError(f"{path}: the file does not record its task; pass --task NAME")
        options = {**{k: str(v) for k, v in (meta.get("task_options") or {}).items()},
                   **options}
    task = make_task(task_name, **options)
    loaded = load_network(path, n_inputs=task.n_inputs, n_outputs=task.n_outputs)
    return task, loaded
