"""``globmed release dataset``, ``globmed release model`` and ``globmed release leaderboard``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("release", help="check a dataset folder, model or leaderboard and upload it to the Hub in one commit",
                       description="Run the release gates; if all pass, upload everything in ONE Hub commit. "
                       "The token comes from HF_TOKEN or `hf auth login` and is never printed or written.")
    rsub = p.add_subparsers(dest="release_command", metavar="WHAT")
    rsub.required = True

    d = rsub.add_parser("dataset", help="release a `globmed build` folder as a Hub dataset repo")
    d.add_argument("--folder", required=True, type=Path, help="the build folder (globmed build --out)")
    d.add_argument("--repo-id", required=True, help="Hub dataset repo, e.g. org/globmed")
    d.add_argument("--private", action="store_true", help="create the repo private (if it does not exist)")
    d.add_argument("--revision", help="branch to commit to (created if missing; default main)")
    d.add_argument("--dry-run", action="store_true", help="run the gates and print the commit plan; upload nothing")
    d.add_argument("--allow-nonredistributable", action="append", default=[], metavar="SOURCE",
                   help="release a source whose licence is marked not redistributable (repeat per source)")
    d.add_argument("--recompute", action="store_true",
                   help="compute every signature and similarity of the near-duplicate gate again instead of "
                   "looking up what the build kept for texts it has (GLOBMED_MEMO; the verdict is the same)")
    d.set_defaults(func=run_dataset)

    m = rsub.add_parser("model", help="release a fine-tuned model with its bench results as a Hub model repo")
    m.add_argument("--model", required=True, type=Path, help="the model folder (save_pretrained output)")
    m.add_argument("--repo-id", required=True, help="Hub model repo, e.g. org/GlobMed-Qwen3-8B")
    m.add_argument("--results", required=True, type=Path, help="`globmed bench --out` folder with this model "
                   "and its base model scored")
    m.add_argument("--name", help="the model's name in the bench results (default: the --model folder name)")
    m.add_argument("--base-name", help="the base model's name in the bench results (default: the other model)")
    m.add_argument("--base-model", help="Hub id of the base model (default: from --recipe)")
    m.add_argument("--recipe", type=Path, help="the training recipe YAML (shown in the card)")
    m.add_argument("--dataset", type=Path, help="the build folder trained on (its report gives the data mixture)")
    m.add_argument("--dataset-repo-id", default="org/globmed", help="Hub id of the dataset (card links, eval results)")
    m.add_argument("--profile", default="paper", help="languages that must have bench results")
    m.add_argument("--langs", help="comma-separated languages that must have bench results (instead of --profile)")
    m.add_argument("--license", default="apache-2.0", help="licence of the released weights")
    m.add_argument("--private", action="store_true")
    m.add_argument("--revision")
    m.add_argument("--dry-run", action="store_true")
    m.set_defaults(func=run_model)

    lb = rsub.add_parser("leaderboard", help="publish the bench leaderboard page as a static Hub Space",
                         description="Rebuild the reports of a `globmed bench --out` folder and publish "
                         "leaderboard.html (as index.html), its tables and a `sdk: static` card as a Space in "
                         "one commit.")
    lb.add_argument("--results", required=True, type=Path, help="`globmed bench --out` folder (or its results/)")
    lb.add_argument("--repo-id", required=True, help="Hub Space, e.g. org/globmed-bench")
    lb.add_argument("--dataset-repo-id", default="org/globmed", help="Hub id of the benched dataset (card link)")
    lb.add_argument("--private", action="store_true", help="create the Space private (if it does not exist)")
    lb.add_argument("--revision", help="branch to commit to (created if missing; default main)")
    lb.add_argument("--dry-run", action="store_true", help="run the gates and print the commit plan; upload nothing")
    lb.set_defaults(func=run_leaderboard)


def run_dataset(args: argparse.Namespace) -> int:
    from globmed.dataset_release import DatasetRelease, release_dataset

    release_dataset(DatasetRelease(folder=args.folder, repo_id=args.repo_id, private=args.private,
                                   revision=args.revision, dry_run=args.dry_run,
                                   allow_nonredistributable=args.allow_nonredistributable,
                                   recompute=args.recompute))
    return 0


def run_model(args: argparse.Namespace) -> int:
    from globmed.languages import resolve_languages
    from globmed.model_release import ModelRelease, release_model

    langs = resolve_languages(None if args.langs else args.profile,
                              [c.strip() for c in args.langs.split(",") if c.strip()] if args.langs else None)
    release_model(ModelRelease(model=args.model, repo_id=args.repo_id, results=args.results, name=args.name,
                               base_name=args.base_name, base_model=args.base_model, recipe=args.recipe,
                               dataset=args.dataset, dataset_repo_id=args.dataset_repo_id, langs=list(langs),
                               license=args.license, private=args.private, revision=args.revision,
                               dry_run=args.dry_run))
    return 0


def run_leaderboard(args: argparse.Namespace) -> int:
    from globmed.leaderboard_release import LeaderboardRelease, release_leaderboard

    release_leaderboard(LeaderboardRelease(results=args.results, repo_id=args.repo_id,
                                           dataset_repo_id=args.dataset_repo_id, private=args.private,
                                           revision=args.revision, dry_run=args.dry_run))
    return 0
