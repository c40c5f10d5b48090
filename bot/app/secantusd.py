"""The embedded server's program: SecantusDB's own command line, with its whole config file applied.

SecantusDB 0.7.0b3 reads `[storage] ttl_sweep_seconds` from its config file but does not hand it
to the server, which then sweeps expired documents every 60 seconds whatever the file says. A
server whose clock is not the wall clock (the tests, the playground's time travel) needs the sweep
off, or records dated in the past vanish mid-run. This entry point passes the configured value on
and otherwise runs `secantus.cli.main` unchanged. It runs only in the server's own process.
"""

from __future__ import annotations

import functools
import sys

from secantus import cli
from secantus.config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    args = cli.build_parser().parse_args(argv)
    try:
        config, _ = load_config(args.config)
    except ConfigError:
        return cli.main(argv)  # which reports the bad file itself
    cli.SecantusDBServer = functools.partial(cli.SecantusDBServer, ttl_sweep_seconds=config.ttl_sweep_seconds)
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
