"""alexnet_lib.cli: the trainer's command line is made from Config's fields, one home per setting."""

from __future__ import annotations

from dataclasses import dataclass, fields

from alexnet_lib import cli
from alexnet_lib.config import Config, setting


def _actions() -> dict[str, object]:
    return {a.dest: a for a in cli.build_parser()._actions if a.dest != "help"}


def test_every_setting_is_a_flag_with_its_default_help_and_choices():
    actions = _actions()
    assert set(actions) == {f.name for f in fields(Config)}
    for f in fields(Config):
        action = actions[f.name]
        assert action.default == f.default, f.name
        assert action.help == f.metadata["help"], f.name
        choices = f.metadata["choices"]
        assert (list(action.choices) if action.choices else None) == (list(choices) if choices else None), f.name
    assert cli.parse_args([]) == Config()  # the command line's defaults are Config's


def test_flags_parse_to_the_settings_they_name():
    cfg = cli.parse_args(["--batch-size", "64", "--lr", "0.02", "--no-download", "--no-augment", "--channels-last",
                          "--lrn", "printed", "--schedule", "cosine"])
    assert (cfg.batch_size, cfg.lr, cfg.download, cfg.augment, cfg.channels_last) == (64, 0.02, False, False, True)
    assert (cfg.lrn, cfg.schedule) == ("printed", "cosine")


def test_a_new_setting_appears_on_the_command_line_with_its_help(monkeypatch, capsys):
    @dataclass
    class WithMore(Config):
        warmup_epochs: int = setting(0, "epochs of linear warm-up before the schedule")
        tta: bool = setting(False, "test with flips too", switch=True)

    monkeypatch.setattr(cli, "Config", WithMore)
    help_text = cli.build_parser().format_help()
    assert "--warmup-epochs WARMUP_EPOCHS" in help_text and "epochs of linear warm-up" in help_text
    switches = help_text[help_text.index("switches (Chapter 10)"):]
    assert "--tta" in switches and "test with flips too" in switches
    cfg = cli.parse_args(["--warmup-epochs", "5", "--tta"])
    assert isinstance(cfg, WithMore) and (cfg.warmup_epochs, cfg.tta) == (5, True)
