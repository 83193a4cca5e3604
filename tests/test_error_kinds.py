"""Bad input to loading raises the same kinds of ConfigError as the same mistake made through
deep_replace, importable from ``micro_config`` itself, at the path the file has."""

from __future__ import annotations

import pytest

import micro_config
from micro_config import (
    ConfigError,
    ConflictError,
    MalformedFileError,
    RefusedClassError,
    UnknownFieldError,
    WrongTypeError,
    deep_replace,
    from_json,
    from_yaml,
    to_yaml,
)
from schemas import TrainLoop, default_train
from tests.configs_field_kinds import Collections, Leaf

pytestmark = pytest.mark.filterwarnings("ignore:schema drift")  # files that leave fields out

KINDS = [UnknownFieldError, WrongTypeError, RefusedClassError, MalformedFileError, ConflictError]


def test_every_kind_is_a_config_error_importable_from_the_package() -> None:
    for kind in KINDS:
        assert issubclass(kind, ConfigError) and issubclass(kind, ValueError)
        assert kind.__name__ in micro_config.__all__
    assert len(set(KINDS)) == 5


@pytest.fixture(scope="module")
def train_yaml() -> str:
    return to_yaml(default_train())


@pytest.mark.parametrize(
    ("old", "new", "kind", "path"),
    [
        ("bsize:", "bsiz:", UnknownFieldError, "bsiz"),
        ("hidden_dim:", "hiden_dim:", UnknownFieldError, "model.transformer_config.hiden_dim"),
        ("schemas.optim.AdamWConfig", "schemas.optim.AdamWConfg", RefusedClassError, "optim._target_"),
        ("schemas.optim.AdamWConfig", "schemas.data.WikiDataConfig", RefusedClassError, "optim._target_"),
        ("schemas.optim.AdamWConfig", "os.system", RefusedClassError, "optim._target_"),
        ("schemas.optim.AdamWConfig", "x", RefusedClassError, "optim._target_"),
        ("_target_: schemas.optim.AdamWConfig", "_target_: 1", MalformedFileError, "optim._target_"),
        ("bsize: ", "bsize: true #", WrongTypeError, "bsize"),
    ],
)
def test_loading_raises_the_kind_of_the_mistake(train_yaml: str, old: str, new: str, kind: type, path: str) -> None:
    assert old in train_yaml
    with pytest.raises(kind) as err:
        from_yaml(train_yaml.replace(old, new, 1), TrainLoop)
    assert err.value.path == path


def test_an_unknown_field_suggests_the_closest_name_on_both_sides(train_yaml: str) -> None:
    with pytest.raises(UnknownFieldError, match="did you mean 'bsize'"):
        from_yaml(train_yaml.replace("bsize:", "bsiz:", 1), TrainLoop)
    with pytest.raises(UnknownFieldError, match="did you mean 'bsize'"):
        deep_replace(default_train(), bsiz=3)


def test_a_bad_enum_name_is_a_wrong_type_on_both_sides() -> None:
    with pytest.raises(WrongTypeError, match="did you mean 'RED'") as loaded:
        from_yaml("_target_: tests.configs_field_kinds.Leaf\ncolor: REDD\n", Leaf)
    with pytest.raises(WrongTypeError, match="did you mean 'RED'") as replaced:
        deep_replace(Leaf(), color="REDD")
    assert loaded.value.path == replaced.value.path == "color"


def test_a_node_that_contains_itself_is_a_malformed_file() -> None:
    text = "_target_: tests.configs_field_kinds.Node\nother: &me\n  _target_: tests.configs_field_kinds.Node\n  other: *me\n"
    with pytest.raises(MalformedFileError, match="contains itself"):
        from_yaml(text, allow_modules="tests")


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("ints", [5, 4, 3, True], "ints.3"),  # the file's index, not the set's order
        ("frozen", [5, 4, 3, 2.5], "frozen.3"),
        ("ints", [1, True], "ints.1"),  # True and 1 would be one item
        ("maybe", [1, True], "maybe.1"),  # inside Optional[list[int]]
        ("either", [1, True], "either.1"),  # inside list[int] | str
    ],
)
def test_a_refused_element_has_one_path_in_files_and_overrides(field: str, value: list, path: str) -> None:
    with pytest.raises(WrongTypeError) as loaded:
        from_yaml(f"_target_: tests.configs_field_kinds.Collections\n{field}: {_flow(value)}\n", Collections)
    with pytest.raises(WrongTypeError) as replaced:
        deep_replace(Collections(), **{field: value})
    assert loaded.value.path == replaced.value.path == path


def _flow(value: list) -> str:
    return "[" + ", ".join("true" if x is True else repr(x) for x in value) + "]"


@pytest.mark.parametrize("version", ["true", "1.0", '"1"', "2"])
def test_the_format_version_is_the_integer_one(version: str) -> None:
    text = f"micro_config: {version}\nconfig:\n  _target_: tests.configs_field_kinds.Leaf\n"
    with pytest.raises(MalformedFileError) as err:
        from_yaml(text, Leaf)
    assert err.value.path == "micro_config"


@pytest.mark.parametrize(
    ("pairs", "kind", "path"),
    [
        ("[[1, 1], [1, 2]]", MalformedFileError, "anything.1"),  # a key given twice
        ("[[1, 1], [true, 2]]", MalformedFileError, "anything.1"),  # equal to an earlier key
        ("[[1]]", MalformedFileError, "anything.0"),  # not a pair
        ("[3]", MalformedFileError, "anything.0"),
        ("[[1, 1], [[1], 2]]", WrongTypeError, "anything.1"),  # unhashable key
    ],
)
def test_a_dict_markers_pairs_are_checked_like_a_mapping(pairs: str, kind: type, path: str) -> None:
    text = '{"_target_": "tests.configs_field_kinds.Leaf", "anything": {"_type_": "dict", "value": %s}}'
    with pytest.raises(kind) as err:
        from_json(text % pairs, Leaf)
    assert err.value.path == path


@pytest.mark.parametrize("text", [r'"a\ud800b"', r'"\udc00"'])
def test_a_lone_surrogate_in_json_is_refused_like_in_yaml(text: str) -> None:
    doc = '{"_target_": "tests.configs_field_kinds.Leaf", "name": ' + text + "}"
    for given in (doc, doc.encode()):
        with pytest.raises(MalformedFileError) as err:
            from_json(given, Leaf)
        assert err.value.path == "name"
    pair = '{"_target_": "tests.configs_field_kinds.Leaf", "name": "\\ud83d\\ude00"}'
    assert from_json(pair, Leaf).name == "\U0001f600"  # a surrogate pair is one character


def test_a_mapping_without_target_in_a_union_is_the_class_whose_fields_it_names(train_yaml: str) -> None:
    head = "_target_: schemas.train.TrainLoop\noptim: "
    assert type(from_yaml(head + "{lr: 0.1, momentum: 0.9}", TrainLoop).optim).__name__ == "SGDConfig"
    with pytest.raises(UnknownFieldError) as err:  # no class has 'bogus': refused, not dropped
        from_yaml(head + "{lr: 0.1, momentum: 0.9, bogus: 1}", TrainLoop)
    assert err.value.path == "optim.bogus"  # the kind and place the command line gives
    with pytest.raises(UnknownFieldError, match=r"did you mean 'lr'") as err:
        from_yaml(head + "{lrr: 0.1}", TrainLoop)
    assert err.value.path == "optim.lrr"
    with pytest.raises(UnknownFieldError, match="has all of betas, momentum: name one with _target_"):
        from_yaml(head + "{betas: [0.9, 0.95], momentum: 0.5}", TrainLoop)
    # what the first class that names these fields reads, as with its _target_: a list for
    # its tuple, an int kept in a float field (exact round trip)
    optim = from_yaml(head + "{betas: [0.9, 0.95], lr: 1}", TrainLoop).optim
    assert type(optim).__name__ == "AdamWConfig" and optim.betas == (0.9, 0.95)
    assert type(optim.lr) is int
    with pytest.raises(WrongTypeError) as err:  # the class takes its keys: its own words
        from_yaml(head + "{lr: abc}", TrainLoop)
    assert err.value.path == "optim.lr"


def test_a_union_mapping_falls_to_the_next_class_that_builds_and_a_failed_trial_leaves_nothing() -> None:
    """Opt and Tagged both have `tag` (a str, an int): `{tag: 3}` fails as Opt, builds as
    Tagged (as the schema's anyOf accepts it). The failed trial's memo and drift notes are
    dropped: the anchored list built under Opt's shape is built again, and warns nothing."""
    import warnings

    from swap_pkg import Root, Tagged

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        root = from_yaml("pick: {tag: 3}\nname: x\n", Root)
    assert type(root.pick) is Tagged and root.pick.tag == 3
    notes = [str(w.message) for w in caught]
    assert any("Root field(s)" in n for n in notes)  # Root's own missing fields: noted
    assert not any("Opt field(s)" in n for n in notes)  # the failed trial's: dropped
    with pytest.raises(WrongTypeError) as err:  # no class builds: the first one's words
        from_yaml("pick: {tag: [1]}\n", Root)
    assert err.value.path == "pick.tag"


def test_a_mistyped_class_name_in_a_file_gets_the_closest_class_of_its_module(train_yaml: str) -> None:
    text = train_yaml.replace("schemas.optim.AdamWConfig", "schemas.optim.AdamWConfg")
    with pytest.raises(RefusedClassError) as err:
        from_yaml(text, TrainLoop)
    assert str(err.value) == (
        "optim._target_: no class 'AdamWConfg' in module 'schemas.optim' (did you mean 'AdamWConfig'?)"
    )
