"""The frozen config: validation names the field and value; round trips are exact."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from strategies import small_configs

from conv4rec.config import OPTIONS_OFF, ConfigError, Conv4RecConfig, read_config_fields


@given(small_configs())
def test_round_trip_is_exact(config):
    again = Conv4RecConfig.from_dict(config.to_dict())
    assert again == config and again.short_hash() == config.short_hash()


@pytest.mark.parametrize("field, value", [
    ("orientation", "diagonal"), ("in_channels", 0), ("hidden", ()), ("activation", "gelu"),
    ("target", "some"), ("target_fraction", 1.0), ("dropout", -0.1), ("eta", 1.0),
    ("lr", 0.0), ("epochs", 0), ("input_scaling", "log"), ("patience", -1), ("lr_drops", -1),
    ("column_l2", -1.0), ("refine_steps", -1), ("refine_lr", 0.0),
])
def test_bad_field_is_named_with_its_value(field, value):
    with pytest.raises(ConfigError, match=field) as err:
        Conv4RecConfig(**{field: value})
    assert repr(value) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("option, on", [("lr_drops", 2), ("column_l2", 1e-4),
                                        ("refine_steps", 10), ("refine_lr", 0.05),
                                        ("refine_alpha", 0.3), ("weight_average", 0.9)])
def test_an_option_left_off_is_not_written(option, on):
    # cache keys and result folders hash to_dict(): an option added later must not change the
    # JSON of the configs that leave it off, must round-trip when on, and a stored dict that
    # lacks it (written before it existed) must read back with it off, even where the default
    # now switches it on
    plain = Conv4RecConfig().replace(**OPTIONS_OFF)
    config = plain.replace(**{option: on})
    assert option not in plain.to_dict() and config.to_dict()[option] == on
    assert Conv4RecConfig.from_dict(config.to_dict()) == config
    assert Conv4RecConfig.from_dict(plain.to_dict()) == plain
    assert config.short_hash() != plain.short_hash()


def test_frozen_and_keyword_only():
    config = Conv4RecConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.lr = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        Conv4RecConfig("user")  # type: ignore[misc]


def test_unknown_field_is_refused():
    with pytest.raises(ConfigError, match="learning_rate"):
        Conv4RecConfig.from_dict({"learning_rate": 0.1})


def test_hash_changes_with_any_field():
    assert Conv4RecConfig().short_hash() != Conv4RecConfig(lr=2e-3).short_hash()


def test_a_tuned_file_leaves_an_option_off_and_a_plain_file_leaves_it_to_the_default(tmp_path):
    defaults = Conv4RecConfig()
    assert defaults.column_l2 > 0 and defaults.refine_steps > 0  # options on by default
    tuned = tmp_path / "tuned.json"
    tuned.write_text(json.dumps({"config": {"orientation": "item", "monitor": "loss"}}))
    fields = read_config_fields(tuned)
    assert {k: fields[k] for k in OPTIONS_OFF} == OPTIONS_OFF
    assert Conv4RecConfig.from_dict(fields) == Conv4RecConfig(orientation="item", monitor="loss",
                                                              **OPTIONS_OFF)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"orientation": "item"}))
    assert read_config_fields(plain) == {"orientation": "item"}
