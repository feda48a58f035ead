import pytest

import kfbench
from kfbench.errors import KfbenchError
from kfbench.registry import (
    accepted_options,
    dataset_presets,
    import_factory,
    method_presets,
)


def test_registries_list_the_weight_free_baselines_and_synthetic():
    assert {"linear", "flow"} <= set(kfbench.list_methods())
    assert "synthetic" in kfbench.list_datasets()


@pytest.mark.parametrize("presets", [method_presets, dataset_presets], ids=["methods", "datasets"])
def test_every_preset_names_an_importable_factory_and_only_options_it_accepts(presets):
    for name, preset in presets().items():
        accepted = accepted_options(import_factory(preset.factory))
        assert set(preset.options) <= set(accepted), name
        assert preset.description, name


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(KfbenchError, match="unknown method 'nope'; valid: .*flow.*linear"):
        kfbench.create_method("nope")
    with pytest.raises(KfbenchError, match="unknown dataset 'nope'; valid: .*synthetic"):
        kfbench.create_dataset("nope")


def test_unknown_option_is_an_error_not_ignored():
    with pytest.raises(KfbenchError, match="unknown option colour .*valid options: algorithm, consistency_sigma"):
        kfbench.create_method("flow", colour="red")


def test_explicit_options_override_the_preset():
    method = kfbench.create_method("flow", algorithm="dis")
    assert method.options["algorithm"] == "dis"
    assert kfbench.create_method("flow").options["algorithm"] == "dis"
