"""Config files that try to stall the loader or be misread are refused fast, alone, and clearly."""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from include.walkme_sync.config import load_integrations
from tests.configs import DEMO_INTEGRATIONS

GOOD = (DEMO_INTEGRATIONS / "login_review_to_lead.yaml").read_text(encoding="utf-8")

# Ten levels of ten aliases each: a billion strings once expanded.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(9)
)


def load_with_the_good_one(tmp_path: Path, name: str, text: str) -> tuple[float, list[str], list]:  # type: ignore[type-arg]
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / name).write_text(text, encoding="utf-8")
    started = time.perf_counter()
    result = load_integrations(tmp_path)
    elapsed = time.perf_counter() - started
    messages = [str(problem) for problem in result.problems.get(str(tmp_path / name), [])]
    return elapsed, messages, result.integrations


def test_an_alias_bomb_is_refused_within_a_second_and_hides_nothing(tmp_path: Path) -> None:
    elapsed, messages, integrations = load_with_the_good_one(tmp_path, "bomb.yaml", BILLION_LAUGHS)
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert any("expands to more than" in message for message in messages)
    assert [config.id for config in integrations] == ["login_review_to_lead"]


def test_a_repeated_key_names_the_key_and_both_lines(tmp_path: Path) -> None:
    text = GOOD.replace("environment: sandbox", "environment: sandbox\nenvironment: production")
    _, messages, integrations = load_with_the_good_one(tmp_path, "twice.yaml", text)
    line = GOOD.splitlines().index(
        next(row for row in GOOD.splitlines() if row.startswith("environment:"))
    )
    assert any(
        "'environment' appears twice" in message and f"lines {line + 1} and {line + 2}" in message
        for message in messages
    ), messages
    assert len(integrations) == 1  # the good file only: the repeated one is not half-taken


def test_a_repeated_key_deep_inside_a_mapping_is_refused(tmp_path: Path) -> None:
    text = GOOD.replace("  key_kind: email", "  key_kind: email\n  key_kind: guid")
    _, messages, _ = load_with_the_good_one(tmp_path, "deep.yaml", text)
    assert any("'key_kind' appears twice" in message for message in messages), messages


def test_a_huge_file_is_refused_without_parsing(tmp_path: Path) -> None:
    text = GOOD + "# padding\n" * 200_000
    elapsed, messages, integrations = load_with_the_good_one(tmp_path, "huge.yaml", text)
    assert elapsed < 1.0
    assert any("more than the 1,000,000 a config may have" in message for message in messages)
    assert len(integrations) == 1


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    text = GOOD + "extra: " + "[" * 5000 + "]" * 5000 + "\n"
    elapsed, messages, _ = load_with_the_good_one(tmp_path, "nested.yaml", text)
    assert elapsed < 1.0
    # libyaml's own depth limit, or ours with the pure-Python parser: refused either way.
    assert any("nest" in message for message in messages), messages


def test_small_anchors_and_merge_keys_still_work(tmp_path: Path) -> None:
    data = yaml.safe_load(GOOD)
    data["id"] = "anchored"
    text = yaml.safe_dump(data, sort_keys=False).replace("matching:\n", "matching: &policy\n", 1)
    text += "extra_policies:\n  copy:\n    <<: *policy\n    multiple_records: skip\n"
    (tmp_path / "a.yaml").write_text(text, encoding="utf-8")
    result = load_integrations(tmp_path)
    messages = [str(p) for ps in result.problems.values() for p in ps]
    assert not any("appears twice" in m or "expands" in m for m in messages), messages


def test_python_tags_are_refused(tmp_path: Path) -> None:
    text = GOOD.replace(
        "name: Login Review -> Lead", 'name: !!python/object/apply:os.system ["true"]'
    )
    _, messages, integrations = load_with_the_good_one(tmp_path, "tag.yaml", text)
    assert messages and len(integrations) == 1
