"""A run's output folder: what it holds, when it may be written, and its learning curves.

A run never loses or mixes results: a fresh run refuses a folder that already holds one
(unless asked to replace it), a resumed run refuses a folder holding another run, and the
folder is checked for writing before the search starts.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from wann_plugin.checkpoint import list_checkpoints
from wann_plugin.io import atomic_write_text

__all__ = ["RESULT_FILES", "RUN_INFO", "RunFolderError", "check_writable", "prepare_run_folder",
           "read_run_info", "run_files", "write_curves", "write_run_info"]

#: The result files of a run (besides its checkpoints).
RESULT_FILES = ("champion.json", "stats.csv", "config.cfg", "curves.png", "run.json")
#: The file that records how a run was started (``checkpoint_every``, the command line).
RUN_INFO = "run.json"


class RunFolderError(ValueError):
    """An output folder that cannot take this run; the message names it and the way out."""


def run_files(folder: Path) -> list[str]:
    """Names of the run files (results and checkpoints) in ``folder``, sorted."""
    if not folder.is_dir():
        return []
    found = {p.name for p in folder.iterdir() if p.name in RESULT_FILES}
    return sorted(found | {p.name for p in list_checkpoints(folder)})


def check_writable(folder: Path, flag: str = "--out") -> None:
    """Create ``folder`` if needed and prove a file can be written in it.

    Raises
    ------
    RunFolderError
        For a path that is a file, or a folder that cannot be created or written (read-only,
        full disk), naming ``flag`` and the folder.
    """
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"{flag} {folder}: is a file; give a folder for the run's results")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".wann-probe-") as f:
            f.write(b"0" * 4096)
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        raise RunFolderError(f"{flag} {folder}: cannot write there ({exc.strerror or exc}); "
                             "choose a writable folder") from None


def prepare_run_folder(folder: Path, *, resumed_from: Path | None = None,
                       overwrite: bool = False) -> None:
    """Check ``folder`` can take the run before anything is written, and clear it when asked.

    Parameters
    ----------
    folder : Path
        The output folder.
    resumed_from : Path, optional
        The folder of the checkpoint a resumed run continues; the run may continue there, or
        in an empty or new folder, never in a folder holding another run.
    overwrite : bool, default=False
        Replace the run in ``folder`` (its result files and checkpoints are deleted).

    Raises
    ------
    RunFolderError
        For a folder holding a run that may not be replaced, or that cannot be written.
    """
    check_writable(folder)
    found = run_files(folder)
    if not found:
        return
    if resumed_from is not None:
        if folder.resolve() == resumed_from.resolve():
            return
        raise RunFolderError(
            f"--out {folder}: already holds another run ({', '.join(found[:4])}); a resumed run "
            f"continues in its own folder ({resumed_from}) or in an empty one")
    if not overwrite:
        raise RunFolderError(
            f"--out {folder}: already holds a run ({', '.join(found[:4])}); choose another "
            f"--out, continue it with --resume {folder}, or replace it with --overwrite")
    for name in found:
        (folder / name).unlink(missing_ok=True)


def write_run_info(folder: Path, info: dict) -> None:
    """Record how the run was started (``run.json``)."""
    atomic_write_text(folder / RUN_INFO, json.dumps(info, indent=1, sort_keys=True) + "\n")


def read_run_info(folder: Path) -> dict:
    """``run.json`` of a run folder, or ``{}`` when it has none or it does not parse."""
    try:
        data = json.loads((folder / RUN_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_curves(rows: Sequence[dict], path: Path) -> Path:
    """``curves.png``: best and median fitness, and connections, per generation."""
    from matplotlib.figure import Figure

    gens = [r["generation"] for r in rows]
    fig = Figure(figsize=(7, 5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(gens, [r["best_mean"] for r in rows], label="best (mean over weights)")
    top.plot(gens, [r["best_max"] for r in rows], label="best (best weight)", alpha=0.6)
    top.plot(gens, [r.get("median_fitness", float("nan")) for r in rows], label="median")
    top.set_ylabel("fitness")
    top.legend(loc="lower right", fontsize="small")
    bottom.plot(gens, [r["median_connections"] for r in rows], label="median")
    bottom.plot(gens, [r["best_connections"] for r in rows], label="best genome")
    bottom.set_ylabel("connections")
    bottom.set_xlabel("generation")
    bottom.legend(loc="upper left", fontsize="small")
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=100, format="png")
    os.replace(tmp, path)
    return path
