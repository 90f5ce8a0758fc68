"""Resume checkpoints are written atomically, pruned, and restored; finished models are published whole."""
from __future__ import annotations

import dataclasses

import torch

from modeling.models import checkpoints


@dataclasses.dataclass
class _Config:
    lr: float = dataclasses.field(default=0.1, metadata={"help": "learning rate"})


def test_save_prune_ignore_partial_and_restore(tmp_path):
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    for step in (1, 2, 3):
        checkpoints.save_checkpoint(tmp_path, step=step, model=model, optimizer=optimizer, config=_Config(),
                                    extra={"seen": step}, keep=2)
    (tmp_path / "checkpoints" / ".tmp-step-00000009-x").mkdir()  # a write that was killed half-way
    assert [p.name for p in checkpoints.list_checkpoints(tmp_path)] == ["step-00000002", "step-00000003"]

    torch.manual_seed(5)
    checkpoints.save_checkpoint(tmp_path, step=4, model=model, extra={"seen": 4})
    expected = torch.rand(3)  # what the RNG gives right after the save
    weights = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.zero_()
    step, extra = checkpoints.load_checkpoint(checkpoints.latest_checkpoint(tmp_path), model=model)
    assert (step, extra) == (4, {"seen": 4})
    assert torch.equal(model.weight, weights) and torch.equal(torch.rand(3), expected)


def test_config_is_saved_with_its_help(tmp_path):
    path = checkpoints.save_checkpoint(tmp_path, step=1, model=torch.nn.Linear(1, 1), config=_Config())
    saved = (path / checkpoints.CONFIG_FILE).read_text()
    assert '"lr": 0.1' in saved and '"learning rate"' in saved


def test_publish_replaces_the_whole_directory(tmp_path):
    final = tmp_path / "model"
    final.mkdir()
    (final / "stale.txt").write_text("old")
    staged = checkpoints.staging_directory(final)
    (staged / "config.json").write_text("{}")
    checkpoints.publish_directory(staged, final)
    assert sorted(p.name for p in final.iterdir()) == ["config.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging or old copy left


def test_published_checkpoints_are_readable_by_others(tmp_path):
    import stat

    from modeling.models.checkpoints import publish_directory, staging_directory, write_json

    staged = staging_directory(tmp_path / "model")
    write_json(staged / "config.json", {"a": 1})
    final = publish_directory(staged, tmp_path / "model")
    assert stat.S_IMODE(final.stat().st_mode) & 0o055 == 0o055
    assert stat.S_IMODE((final / "config.json").stat().st_mode) & 0o044 == 0o044
