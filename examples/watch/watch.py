"""Watch the reference swing-up champion: a GIF of two shared weights and an HTML page.

    python examples/watch/watch.py ../shared/reference/wann/swing.out --out-dir watch-out
"""

from __future__ import annotations

import argparse
from pathlib import Path

from wann_plugin.io import load_network
from wann_plugin.render import render
from wann_plugin.show import show_page
from wann_plugin.tasks import SwingUpTask


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("network", help="a swing-up network (.out or our JSON)")
    parser.add_argument("--out-dir", default="watch-out")
    args = parser.parse_args()
    out = Path(args.out_dir)
    task = SwingUpTask()
    net = load_network(args.network, n_inputs=task.n_inputs, n_outputs=task.n_outputs).net
    result = render(task, net, out / "swing.gif", [-1.0, 1.5])
    print(f"{result.path}: {result.n_frames} frames, returns {result.returns[0].round(1)}")
    page = show_page(task, [net], out / "swing.html", n_episodes=5)
    print(f"{page}: open {page.resolve().as_uri()}")


if __name__ == "__main__":
    main()
