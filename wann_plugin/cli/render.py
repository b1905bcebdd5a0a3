"""``wann render``: watch a network play its task, written as a GIF or an MP4."""

from __future__ import annotations

from pathlib import Path

from wann_plugin.cli._common import (
    CliError,
    add_network_argument,
    add_task_arguments,
    task_and_network,
    weights_value,
)

__all__ = ["add_parser"]


def _cmd_render(args) -> int:
    import numpy as np

    from wann_plugin.render import RenderError, render

    task, loaded, _, _ = task_and_network(args)
    out = Path(args.out or Path(args.network).stem + ".gif")
    conn_weights = None
    if args.weight is not None:
        weights = [args.weight]
    elif args.weights is not None:
        weights = list(args.weights)
    elif loaded.conn_weights is not None:
        weights, conn_weights = None, loaded.conn_weights
    else:
        weights = [-1.0, 1.0]
    try:
        res = render(task, loaded.net, out, weights, conn_weights=conn_weights, seed=args.seed,
                     n_episodes=args.episodes, every=args.every, fps=args.fps,
                     width=args.width)
    except RenderError as exc:
        raise CliError(str(exc)) from None
    labels = (["tuned weights"] if weights is None
              else [f"weight {w:+g}" for w in np.asarray(weights, dtype=float)])
    print(f"wrote {res.path} ({res.n_frames} frames, {res.path.stat().st_size / 1e6:.1f} MB)")
    for r, row in enumerate(res.returns):
        print(f"  episode {args.seed + r}: " + "  ".join(
            f"{lab}: {ret:.2f}" for lab, ret in zip(labels, row)))
    return 0


def add_parser(sub):
    """Add ``wann render`` to the ``wann`` subparsers."""
    p = sub.add_parser(
        "render", help="animate a network on its task (GIF, or MP4 with ffmpeg)",
        description="Play episodes of NETWORK on its task with the evaluator's action mapping "
                    "and write an animation: one panel per shared weight, side by side, each "
                    "with its weight and running return. Swing-up and every gymnasium task.")
    add_network_argument(p)
    add_task_arguments(p, required=False,
                       default_note=" (default: the task a wann run network file records)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--weight", type=float, default=None, help="one shared weight")
    group.add_argument("--weights", type=weights_value, default=None, metavar="W1,W2,...",
                       help="several shared weights, side by side (default -1,1, or the "
                            "file's tuned weights if it has them)")
    p.add_argument("--episodes", type=int, default=1,
                   help="episodes one after another (default 1)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the first episode (default 0)")
    p.add_argument("--out", default=None, metavar="FILE.gif|FILE.mp4",
                   help="output file (default NETWORK's name .gif); .mp4 needs ffmpeg")
    p.add_argument("--every", type=int, default=None,
                   help="keep every N-th step (default 4 for swing-up, 2 otherwise)")
    p.add_argument("--fps", type=float, default=None,
                   help="frames per second (default: real time)")
    p.add_argument("--width", type=int, default=400, help="pixels per panel (default 400)")
    p.set_defaults(func=_cmd_render)
    return p
