"""``wann show``: one self-contained HTML page for a network (or two, side by side)."""

from __future__ import annotations

from pathlib import Path

from wann_plugin.cli._common import (
    CliError,
    add_network_argument,
    add_task_arguments,
    task_and_network,
)

__all__ = ["add_parser"]


def _grid(text: str):
    import numpy as np

    try:
        lo, hi, step = (float(v) for v in text.split(":"))
    except ValueError:
        raise CliError(f"--grid {text!r}: expected LOW:HIGH:STEP, e.g. -2.5:2.5:0.1") from None
    if not (step > 0 and hi > lo) or (hi - lo) / step > 1000:
        raise CliError(f"--grid {text!r}: need HIGH > LOW and 0 < STEP, at most 1000 steps")
    return np.round(np.arange(lo, hi + step / 2, step), 10)


def _cmd_show(args) -> int:
    from wann_plugin.io import load_network
    from wann_plugin.render import RenderError
    from wann_plugin.show import show_page

    task, loaded, _, _ = task_and_network(args)
    nets, labels = [loaded.net], [Path(args.network).name]
    if args.compare:
        other = load_network(args.compare, n_inputs=task.n_inputs, n_outputs=task.n_outputs)
        nets.append(other.net)
        labels.append(Path(args.compare).name)
    out = Path(args.out or Path(args.network).stem + ".html")
    grid = _grid(args.grid) if args.grid else None
    try:
        page = show_page(task, nets, out, labels=labels, grid=grid, seed=args.seed,
                         n_episodes=args.episodes)
    except RenderError as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {page} ({page.stat().st_size / 1e6:.1f} MB): open {page.resolve().as_uri()}")
    return 0


def add_parser(sub):
    """Add ``wann show`` to the ``wann`` subparsers."""
    p = sub.add_parser(
        "show", help="write one self-contained HTML page for a network",
        description="Write an HTML page (no server, no network access) with the network "
                    "drawn, its score against the shared weight, and a weight slider that "
                    "replays the task at that weight (swing-up animation, gymnasium frames, "
                    "or a classifier's accuracy and confusion matrix).")
    add_network_argument(p)
    add_task_arguments(p, required=False,
                       default_note=" (default: the task a wann run network file records)")
    p.add_argument("--compare", default=None, metavar="NETWORK2",
                   help="a second network beside the first (e.g. after tuning)")
    p.add_argument("--out", default=None, metavar="PAGE.html",
                   help="output file (default NETWORK's name .html)")
    p.add_argument("--episodes", type=int, default=10,
                   help="episodes per weight for the score curve (default 10)")
    p.add_argument("--seed", type=int, default=0,
                   help="the episode the slider replays; the curve uses SEED.. (default 0)")
    p.add_argument("--grid", default=None, metavar="LOW:HIGH:STEP",
                   help="the slider's weights (default -2.5:2.5:0.1, by 0.5 for gym tasks)")
    p.set_defaults(func=_cmd_show)
    return p
