import json
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from labeling.charts_line import line_chart_svg
from labeling.errors import RejectedInput
from labeling.services.guard import guard_settings_check
from labeling.services.rounds import DEFAULT_CONFIG
from labeling.services.task_selection import selection_settings_check
from labeling.services.simulation import QUICK_BOOTSTRAP, QUICK_ROUND, SimulationConfig, simulation_run


def round_overrides(base: dict, overrides: list[str]) -> dict:
    """``base`` with each ``SECTION.KEY=VALUE`` applied (VALUE read as JSON, else kept as text)."""
    from labeling.services.rounds import DEFAULT_CONFIG

    config = {section: dict(values) for section, values in base.items()}
    for item in overrides:
        name, equals, raw = item.partition("=")
        section, dot, key = name.partition(".")
        if not equals or not dot or not key or section not in DEFAULT_CONFIG:
            raise CommandError(f"--set {item!r}: expected SECTION.KEY=VALUE with SECTION one of "
                               f"{', '.join(DEFAULT_CONFIG)}")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        config.setdefault(section, {})[key] = value
    return config


class Command(BaseCommand):
    help = ("Run the whole loop with simulated labelers on a real Celery worker and Redis; print, per round, "
            "the held-out gold score of the policy's samples and its KL to the first policy.")

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=3)
        parser.add_argument("--algo", choices=["dpo", "ppo"], default="dpo")
        parser.add_argument("--labelers", type=int, default=3)
        parser.add_argument("--prompts", type=int, default=60, help="new prompts sampled per round")
        parser.add_argument("--demonstrations", type=int, default=0,
                            help="first have the simulated labelers write N demonstrations and run an SFT round on them "
                                 "(its policy samples the first ranking tasks); 0: start from ranking")
        parser.add_argument("--eval-prompts", type=int, default=150, help="distinct held-out prompts, never trained on")
        parser.add_argument("--eval-samples", type=int, default=32,
                            help="fresh samples per held-out prompt (same seed for every policy, so gains are paired)")
        parser.add_argument("--quick", action="store_true", help="tiny models and settings (a smoke test)")
        parser.add_argument("--policy", default="", help="first policy checkpoint when the database has none")
        parser.add_argument("--out", default="", help="directory for figures.json, chart.svg (gold score) and chart_kl.svg")
        parser.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", dest="overrides",
                            help="a round setting, e.g. reward.epochs=1 or dpo.learning_rate=5e-5 (repeatable; "
                                 "sections and defaults: labeling.services.rounds.DEFAULT_CONFIG)")
        parser.add_argument("--selection", choices=["random", "uncertainty", "variance"], default=None,
                            help="active task selection of each round's new tasks (sample.selection; default: the "
                                 "round settings', uncertainty with --set reward.ensemble=N > 1, else random)")
        parser.add_argument("--no-worker", action="store_true",
                            help="use the worker and REDIS_URL already running (e.g. make run) instead of starting them")

    def handle(self, *args, **opts):
        if opts["demonstrations"] < 0:
            raise CommandError("--demonstrations must be 0 or more")
        if min(opts["rounds"], opts["labelers"], opts["prompts"], opts["eval_prompts"], opts["eval_samples"]) < 1:
            raise CommandError("--rounds, --labelers, --prompts, --eval-prompts and --eval-samples must be at least 1")
        round_config = round_overrides(QUICK_ROUND if opts["quick"] else {}, opts["overrides"])
        if opts["selection"]:
            round_config.setdefault("sample", {})["selection"] = opts["selection"]
        try:  # a bad selection or guard setting is refused here, before a worker starts
            selection_settings_check({**DEFAULT_CONFIG["sample"], **round_config.get("sample", {})})
            guard_settings_check({name: {**values, **round_config.get(name, {})} for name, values in DEFAULT_CONFIG.items()})
        except RejectedInput as exc:
            raise CommandError(exc.message) from None
        config = SimulationConfig(
            rounds=opts["rounds"], algo=opts["algo"], labelers=opts["labelers"], prompts_per_round=opts["prompts"],
            eval_prompts=opts["eval_prompts"], round_config=round_config,
            bootstrap_config=QUICK_BOOTSTRAP if opts["quick"] else {},
            samples_per_prompt=1 if opts["quick"] else opts["eval_samples"],
            policy_path=opts["policy"], demonstrations=opts["demonstrations"],
            # a tiny policy's samples are nearly all equally bad: tie only identical gold scores
            same_quality=0.0 if opts["quick"] else None,
        )
        processes = [] if opts["no_worker"] else self._start_worker()
        try:
            rows = simulation_run(config=config, on_progress=self.stdout.write)
        except (RuntimeError, TimeoutError) as exc:
            raise CommandError(str(exc)) from None
        finally:
            from config.localstack import stop_all

            stop_all(processes)
        self._report(rows, Path(opts["out"] or Path(settings.VAR_DIR) / f"simulation-{opts['algo']}"))

    def _start_worker(self):
        """A Redis on a free loopback port and one Celery worker process serving both queues."""
        from config.celery import app
        from config.localstack import free_port, start_redis, start_worker

        port = free_port(6400)
        redis = start_redis(port=port, data_dir=Path(settings.VAR_DIR) / "redis-simulation")
        url = f"redis://127.0.0.1:{port}/0"
        app.conf.update(broker_url=url, result_backend=url)
        log_path = Path(settings.VAR_DIR) / "simulation-worker.log"
        worker = start_worker(env={**os.environ, "REDIS_URL": url}, log_path=log_path)
        self.stdout.write(f"Redis on {url}; worker log in {log_path}")
        return [redis, worker]

    def _report(self, rows, out: Path):
        out.mkdir(parents=True, exist_ok=True)
        (out / "figures.json").write_text(json.dumps(rows, indent=2))
        # two charts: on one axis from 0, KL's scale flattened the gold score's rise into a straight line
        (out / "chart.svg").write_text(line_chart_svg(
            {"gold score": [(r["round"], r["gold"]) for r in rows]}, title="Held-out gold score over rounds",
            x_label="round"))
        (out / "chart_kl.svg").write_text(line_chart_svg(
            {"KL to first policy": [(r["round"], r["kl"]) for r in rows]}, title="KL to the first policy over rounds",
            x_label="round"))
        self.stdout.write("\nround  step   policy        gold   gain over previous  win-rate  KL-to-first  RM-accuracy")
        for r in rows:
            accuracy = r.get("reward_accuracy")
            gain = f"{r['gain']:+.4f} ± {r['gain_se']:.4f}" if "gain" in r else ""
            self.stdout.write(f"{r['round']:>5}  {r['step']:<5}  {r['policy']:<12} {r['gold']:.3f}  {gain:<18}  "
                              f"{r['win_rate']:.3f}     "
                              f"{r['kl']:>8.3f}     {'' if accuracy is None else f'{accuracy:.3f}'}")
        self.stdout.write(f"\nFigures and charts written to {out}")
