"""``wann init TASK_OR_ENV_ID``: write a commented config file for a task or a gymnasium env.

The file is the packaged quick config fitted to the task (its inputs and outputs, its
options), with every key explained by a comment taken from the key's declaration.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from wann_plugin.cli._common import CliError, parse_task_options, task_names

__all__ = ["add_parser", "commented_config_text"]


def _key_docs() -> dict[str, dict[str, str]]:
    from wann_plugin.config import EVALUATION_KEYS, NEAT_KEYS, RUN_KEYS, STAGNATION_KEYS
    from wann_plugin.genome import GENOME_KEYS
    from wann_plugin.reproduction import REPRODUCTION_KEYS, SPECIES_SET_KEYS

    groups = {"NEAT": NEAT_KEYS, "WannGenome": GENOME_KEYS, "WannReproduction": REPRODUCTION_KEYS,
              "WannSpeciesSet": SPECIES_SET_KEYS, "DefaultStagnation": STAGNATION_KEYS,
              "WannEvaluation": EVALUATION_KEYS, "WannRun": RUN_KEYS}
    return {section: {k.name: k.doc or f"must be {k.requirement()}" for k in keys}
            for section, keys in groups.items()}


def commented_config_text(text: str, header: str) -> str:
    """``text`` (a config file) with ``header`` on top and each key's meaning above it."""
    docs = _key_docs()
    out = [f"# {line}" if line else "#" for line in header.splitlines()]
    section = ""
    for line in text.splitlines():
        m = re.match(r"\[(.+)\]\s*$", line)
        if m:
            section = m.group(1)
            out.append("")
        else:
            key = line.split("=", 1)[0].strip()
            doc = docs.get(section, {}).get(key)
            if doc and line.strip():
                out.append(f"# {doc}")
        if line.strip():
            out.append(line)
    return "\n".join(out).strip() + "\n"


def _cmd_init(args) -> int:
    from wann_plugin.config import config_text, load_config

    options = parse_task_options(args.task_option)
    if args.target in task_names():
        task, options = args.target, options
    else:  # a gymnasium env id
        task, options = "gym", {"env_id": args.target, **options}
    out = Path(args.out) if args.out else Path(f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', args.target)}.cfg")
    if out.exists() and not args.overwrite:
        raise CliError(f"--out {out}: the file exists; choose another --out or replace it with "
                       "--overwrite")
    if out.parent.exists() and not out.parent.is_dir():
        raise CliError(f"--out {out}: {out.parent} is a file, not a folder")
    config = load_config(task=task, task_options=options)
    built = config.wann.make_task()
    header = (f"WANN search config for {args.target} ({built.n_inputs} inputs, "
              f"{built.n_outputs} outputs), written by: wann init "
              f"{shlex.join([args.target, *sum((['--task-option', o] for o in args.task_option), [])])}"
              "\nRun it with: wann run " + shlex.quote(str(out)) + " --out RUN_FOLDER\n"
              "Every key is explained above it; the config reference is on the docs' config page.")
    from wann_plugin.io import atomic_write_text

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, commented_config_text(config_text(config), header))
    except OSError as exc:
        raise CliError(f"--out {out}: cannot write it ({exc.strerror or exc})") from None
    load_config(out)  # what was written loads
    print(f"wrote {out}: task {task}"
          + (f" ({', '.join(f'{k}={v}' for k, v in options.items())})" if options else "")
          + f"; run it with: wann run {shlex.quote(str(out))}")
    return 0


def add_parser(sub):
    """Add ``wann init`` to the ``wann`` subparsers."""
    p = sub.add_parser(
        "init", help="write a commented config file for a task or a gymnasium env id",
        description="Write a commented WANN config for a registered task or any gymnasium "
                    "env id (e.g. Pendulum-v1), fitted to its inputs and outputs.")
    p.add_argument("target", metavar="TASK_OR_ENV_ID",
                   help=f"a registered task ({', '.join(task_names())}) or a gymnasium env id")
    p.add_argument("--task-option", action="append", metavar="KEY=VALUE", default=[],
                   help="a task option written into [WannTask] (repeatable)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="where to write it (default: TASK_OR_ENV_ID.cfg)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=_cmd_init)
    return p
