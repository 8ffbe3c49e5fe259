"""`tinynas refine`: width refinement of a run's chosen architecture (RARTS or DARTS)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinynas.cli._options import (
    CANDIDATE_ID,
    NON_NEGATIVE,
    POSITIVE,
    SEED,
    devices_dir_option,
    json_option,
)


@click.command()
@click.argument("run", type=click.Path(file_okay=False))
@click.option("--candidate", "candidate_id", type=CANDIDATE_ID, default=None,
              help="Candidate id (default: the run's chosen model).")
@click.option("--method", type=click.Choice(["rarts", "darts1", "pdarts"]), default="rarts",
              show_default=True)
@click.option("--epochs", type=POSITIVE, default=3.0, show_default=True, help="Search epochs.")
@click.option("--lambda", "lam", type=NON_NEGATIVE, default=1.0, show_default=True,
              help="RARTS lambda (weight of the auxiliary loss).")
@click.option("--beta", type=NON_NEGATIVE, default=1.0, show_default=True,
              help="RARTS beta (coupling of the two networks).")
@click.option("--mu", type=NON_NEGATIVE, default=2.0, show_default=True,
              help="Weight of the flash/RAM/latency penalty.")
@click.option("--retrain-epochs", type=POSITIVE, default=10.0, show_default=True)
@click.option("--seed", type=SEED, default=0, show_default=True)
@devices_dir_option
@json_option("Print the summary as JSON only.")
def refine(run: str, candidate_id: int | None, method: str, epochs: float, lam: float,
           beta: float, mu: float, retrain_epochs: float, seed: int, devices_dir: Path | None,
           as_json: bool) -> None:
    """Refine the channel widths of a run's architecture under the board budget."""
    from tinynas.refine import RefineConfig, refine_run

    config = RefineConfig(method=method, epochs=epochs, lam=lam, beta=beta, mu=mu, seed=seed)
    summary = refine_run(run, config, candidate_id, retrain_epochs, devices_dir)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"refined candidate {summary['from_candidate']} with {method}: widths "
               f"{summary['widths']} ({summary['narrowed']} steps narrowed to fit)")
    e = summary["estimate"]
    click.echo(f"flash {e['flash_bytes']:,} B (estimated), arena {e['arena_bytes']:,} B "
               f"({e.get('arena_source', 'estimated')}), "
               f"latency {e['latency_ms']:.2f} ms (predicted)")
    int8 = summary["int8_accuracy"]
    click.echo(f"test accuracy: float {summary['test_accuracy']:.2%}, int8 "
               f"{'n/a' if int8 is None else f'{int8:.2%}'} (measured)")
    click.echo(f"search {summary['search_seconds']:.0f} s, retraining "
               f"{summary['retrain_seconds']:.0f} s; files in {summary['out']}/")
